package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestTreeOverOpenFileLimit runs a virtiofs cell of a 1,200-file tree with vmfsbench's
// open-file limit lowered to 1,000 by prlimit, below the tree's entries (the C virtiofsd
// keeps a descriptor per entry the guest looks up) and above the Rust daemon's own reserve
// (609 in 1.13). Where the daemon uses file handles (the Rust daemon as root, also as the
// fallback of daemon: auto) or may raise its limit the cell must read the whole tree;
// elsewhere it must be refused before timing with the count and the limit, never fail with
// EMFILE in the middle of the workload. A 9p cell of the same run is unaffected.
func TestTreeOverOpenFileLimit(t *testing.T) {
	needGuest(t)
	needVirtiofsdCLI(t)
	testenv.Tool(t, "prlimit")
	dir := t.TempDir()
	_, env := privateTmp(t)
	specFile := filepath.Join(dir, "nofile.yaml")
	must(t, os.WriteFile(specFile, []byte(`version: 1
name: nofile
tree: {synthetic: {files: 1200, bytes: 2MiB, seed: 43}}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: {builtin: read-all, timeout: 5m}
cache: [asis]
methods: [virtiofs: {cache: always}, 9p: {}]
`), 0o644))
	out := filepath.Join(dir, "out")
	bin := cliBinary(t)
	cmd := exec.Command("prlimit", "--nofile=1000:1000", bin, "run", "-o", out, specFile)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	outb, err := cmd.CombinedOutput()
	t.Logf("%s", outb)
	var vf, np *results.Cell
	for _, id := range []string{"virtiofs.cache=always/asis/r1", "9p/asis/r1"} {
		res, rerr := results.ReadCell(filepath.Join(out, "cells", plan.FileName(id)+".json"))
		if rerr != nil {
			t.Fatalf("%s: %v (run: %v)", id, rerr, err)
		}
		if strings.HasPrefix(id, "9p") {
			np = res
		} else {
			vf = res
		}
	}
	if np.Status != results.StatusOK {
		t.Errorf("9p: %s", np.Error)
	}
	handles := vf.Facts["inode_file_handles"] == "prefer"
	if handles || mayRaiseNoFile() {
		if vf.Status != results.StatusOK {
			t.Errorf("virtiofs with file handles (%v) or CAP_SYS_RESOURCE: %s", handles, vf.Error)
		}
		return
	}
	if vf.Status == results.StatusOK || !strings.HasPrefix(vf.Error, "refused before timing: the tree has") ||
		!strings.Contains(vf.Error, "may open only 1000 files") || vf.Phases[results.PhaseWorkload] != 0 {
		t.Errorf("virtiofs over the limit: status %s, error %q, workload %.1fs; want refused before timing with the count and the limit",
			vf.Status, vf.Error, vf.Phases[results.PhaseWorkload])
	}
}

// mayRaiseNoFile says whether this process may raise its hard open-file limit: it tries, by
// one, and puts it back (CAP_SYS_RESOURCE in CapEff is not enough: a container may refuse).
func mayRaiseNoFile() bool {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return false
	}
	up := lim
	up.Max++
	if lim.Max == unix.RLIM_INFINITY || unix.Setrlimit(unix.RLIMIT_NOFILE, &up) != nil {
		return lim.Max == unix.RLIM_INFINITY
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	return true
}
