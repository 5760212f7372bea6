package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestStandaloneBinary builds vmfsbench as `make build` does, with the guest agents embedded,
// copies it out of the checkout and runs it from / with no Go on PATH, so that the agent cannot
// be built: validate, then one cell of the demo, which must be ok with the embedded agent. A
// vmfsbench built without the agents (go build) fails there instead, naming `make build`.
func TestStandaloneBinary(t *testing.T) {
	needGuest(t)
	fail := func(why string) { t.Helper(); testenv.Missing(t, "%s", why) }
	if os.Geteuid() != 0 {
		fail("dropping the host cache for the demo's empty cell needs root")
	}
	if _, err := exec.LookPath("make"); err != nil {
		fail("make is not installed")
	}
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		fail("mksquashfs is not installed")
	}
	repo, err := filepath.Abs("../../..")
	must(t, err)
	bin := filepath.Join(t.TempDir(), "vmfsbench")
	build := exec.Command("make", "-C", repo, "build", "BIN="+bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	agent, err := os.ReadFile(filepath.Join(repo, "orchestrator/initramfs/agents/agent-amd64"))
	must(t, err)

	// Away from the checkout: the binary, the spec and the results in a directory of their
	// own, run from / with a PATH that has no go.
	dir := t.TempDir()
	spec, err := os.ReadFile(filepath.Join(repo, "specs/demo.yaml"))
	must(t, err)
	specFile := filepath.Join(dir, "demo.yaml")
	must(t, os.WriteFile(specFile, spec, 0o644))
	var path []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err != nil {
			path = append(path, d)
		}
	}
	env := []string{"PATH=" + strings.Join(path, string(filepath.ListSeparator))}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "GO") {
			env = append(env, kv)
		}
	}
	standalone := func(bin string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = "/", env
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := standalone(bin, "validate", specFile); code != 0 || !strings.Contains(out, "ok (14 cells)") {
		t.Fatalf("validate: exit %d\n%s", code, out)
	}
	const cell = "squashfs.compression=none/empty/r1"
	runDir := filepath.Join(dir, "run")
	start := time.Now()
	code, out := standalone(bin, "run", "-o", runDir, specFile, "--only", cell)
	t.Logf("run --only %s: exit %d in %s\n%s", cell, code, time.Since(start).Round(time.Second), out)
	if code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	cells, err := results.FinishedCells(runDir)
	if err != nil || len(cells) != 1 || cells[cell] == nil || cells[cell].Status != results.StatusOK {
		t.Fatalf("cells %v (%v), want %s ok", cells, err, cell)
	}
	cache, err := kernel.CacheDir()
	must(t, err)
	sum := sha256.Sum256(agent)
	if _, err := os.Stat(filepath.Join(cache, "agent", "amd64-embedded-"+hex.EncodeToString(sum[:])[:16], "init")); err != nil {
		t.Errorf("the embedded agent is not in the cache: %v", err)
	}

	// The same without the agents (a plain go build) cannot build one: exit 2, naming make build.
	code, out = standalone(cliBinary(t), "run", "-o", filepath.Join(dir, "run2"), specFile, "--only", cell)
	if code != exitUsage || !strings.Contains(out, "make build") {
		t.Errorf("run without embedded agents or Go: exit %d, want 2 and a hint at make build\n%s", code, out)
	}
}
