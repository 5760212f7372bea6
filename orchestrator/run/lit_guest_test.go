package run

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
	"github.com/vmfsbench/vmfsbench/results"
)

// needRootfs makes sure the default guest root filesystem exists, building it (once, into the
// user cache) when debootstrap is there.
func needRootfs(t *testing.T) {
	t.Helper()
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	r := rootfs.Recipe{Arch: "x86_64"}
	if _, err := rootfs.Find(cache, r); err == nil {
		return
	}
	if _, err := exec.LookPath("debootstrap"); err != nil || os.Getuid() != 0 {
		testenv.Missing(t, "no guest rootfs and no way to build one (needs root and debootstrap: %v, uid %d)", err, os.Getuid())
	}
	t.Logf("building the guest rootfs into %s (once)", cache)
	if _, err := rootfs.Build(context.Background(), cache, r, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// TestLitInRootfs runs a small generated lit suite with Debian's LLVM 15, chrooted in the
// guest rootfs as the user 1001, over a squashfs of the tree: every test must pass.
func TestLitInRootfs(t *testing.T) {
	needGuest(t)
	needRootfs(t)
	res, r := runOne(t, `version: 1
name: lit-test
qemu: {cpus: 2, memory: 1GiB, accel: tcg}
cache: [asis]
methods: [squashfs: {}]
tree:
  synthetic: {files: 600, bytes: 3MiB, seed: 12, lit_tests: 24}
  exclude: [.git, "build/*", "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
guest:
  rootfs: built
  mountpoint: /home/user/llvm-project
  user: {uid: 1001, gid: 1001}
workload:
  cwd: build/stage2cross/test
  command: [llvm-lit, -sv, --order=lexical, --time-tests, .]
  env: {PATH: "/usr/lib/llvm-15/bin:/usr/local/bin:/usr/bin:/bin", HOME: /home/user}
  timeout: 10m
`, func(r *testRunner) { r.Choices.Verify = true })
	if res.Status != results.StatusOK {
		t.Fatalf("cell failed: %s", res.Error)
	}
	if res.Lit == nil || res.Lit.Passed != 24 || len(res.Lit.Slowest) == 0 {
		t.Fatalf("lit summary %+v, want 24 passed with per-test times", res.Lit)
	}
	// Every test's result, from the report lit wrote with the -o the plan added.
	if len(res.Lit.Tests) != 24 {
		t.Fatalf("%d per-test results, want 24: %+v", len(res.Lit.Tests), res.Lit.Tests)
	}
	for _, tr := range res.Lit.Tests {
		if tr.Code != "PASS" || tr.Seconds <= 0 || !strings.Contains(tr.Name, " :: ") {
			t.Errorf("per-test result %+v, want a named PASS with its time", tr)
		}
	}
	if c := res.CPU; c == nil || c.QEMUSeconds <= 0 || c.BuildSeconds <= 0 || c.Seconds() < c.QEMUSeconds+c.BuildSeconds {
		t.Errorf("cpu %+v, want QEMU's and the squashfs build's time within the cell's", c)
	}
	if res.Verify == nil || res.Verify.Owners["1001:1001"] == 0 || len(res.Verify.Owners) != 1 {
		t.Errorf("owners %+v, want all 1001:1001", res.Verify)
	}
	info, err := os.Stat(r.Host.Rootfs)
	if err != nil || info.Size() == 0 {
		t.Errorf("rootfs image %s: %v", r.Host.Rootfs, err)
	}
}
