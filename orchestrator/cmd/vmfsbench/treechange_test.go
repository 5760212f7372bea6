package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/run"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestFaultTreeChangesBetweenCells edits a file of the tree of a command workload's spec
// (as lit's would be) once the first of its two cells has its result: the second cell fails
// (status error, rerun by --resume) naming the changed file, and vmfsbench exits 1. After a
// further change a resume is refused (exit 2) naming both files; with --accept-tree-change
// it runs the second cell again against the changed tree, which run.json and the report
// state. Three guest boots.
func TestFaultTreeChangesBetweenCells(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	root := filepath.Join(t.TempDir(), "tree")
	for p, c := range map[string]string{"test/input.txt": "one\n", "test/other.txt": "two\n", "lit.cfg": "cfg\n"} {
		must(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		must(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	specFile := filepath.Join(dir, "tree-change.yaml")
	must(t, os.WriteFile(specFile, []byte(`version: 1
name: tree-change
tree: {path: `+root+`}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: {command: [/bin/busybox, cat, test/input.txt], timeout: 5m}
cache: [asis]
methods: [9p: {cache: [loose, none]}]
`), 0o644))
	tmp, env := privateTmp(t)
	out := filepath.Join(t.TempDir(), "run")
	c := startCLI(t, dir, env, "run", specFile, "-o", out)
	for end := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(out, "cells", "*.json")); len(m) > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no cell finished:\n%s", c.stderr.String())
		}
	}
	must(t, os.WriteFile(filepath.Join(root, "test/input.txt"), []byte("changed\n"), 0o644))
	if code := c.wait(t, 5*time.Minute); code != exitFailed {
		t.Fatalf("exit %d, want %d:\n%s", code, exitFailed, c.stderr.String())
	}
	cells, err := results.FinishedCells(out)
	must(t, err)
	first, second := cells["9p.cache=loose/asis/r1"], cells["9p.cache=none/asis/r1"]
	if first == nil || second == nil {
		t.Fatalf("cells %v", cells)
	}
	meta, err := results.ReadRunMeta(out)
	must(t, err)
	if meta.Tree == nil || first.Tree != meta.Tree.Fingerprint || meta.Tree.Entries != 4 {
		t.Errorf("run.json's tree %+v, the first cell's %q", meta.Tree, first.Tree)
	}
	if first.Status != results.StatusOK || second.Status != results.StatusError ||
		!strings.Contains(second.Error, `the tree changed since the run started`) || !strings.Contains(second.Error, `changed "test/input.txt"`) {
		t.Errorf("first %s %q, second %s %q; want ok, then error naming test/input.txt", first.Status, first.Error, second.Status, second.Error)
	}
	assertClean(t, tmp, out, nil)

	must(t, os.WriteFile(filepath.Join(root, "test/other.txt"), []byte("changed too\n"), 0o644))
	code, _, stderr := runCLI(t, "run", "--resume", out)
	if code != exitUsage || !strings.Contains(stderr, `changed "test/input.txt", changed "test/other.txt"`) || !strings.Contains(stderr, "--accept-tree-change") {
		t.Errorf("resume after a further change: exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
	}
	if again, _ := results.FinishedCells(out); again["9p.cache=none/asis/r1"].Start != second.Start {
		t.Error("the refused resume ran the cell again")
	}

	code, _, stderr = runCLI(t, "run", "--resume", out, "--accept-tree-change")
	if code != exitOK {
		t.Fatalf("resume --accept-tree-change: exit %d; stderr:\n%s", code, stderr)
	}
	cells, err = results.FinishedCells(out)
	must(t, err)
	meta, err = results.ReadRunMeta(out)
	must(t, err)
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	must(t, err)
	if s := cells["9p.cache=none/asis/r1"]; s.Status != results.StatusOK || len(meta.TreeChanges) != 1 || s.Tree != meta.TreeChanges[0].To ||
		s.Tree == first.Tree || !strings.Contains(string(report), "**The tree changed during the run**") {
		t.Errorf("after the accepted change: cell %s (tree %s), run.json's changes %+v; report:\n%s", s.Status, s.Tree, meta.TreeChanges, report)
	}
	if _, err := os.Stat(filepath.Join(out, run.FingerprintFile)); err != nil {
		t.Error(err)
	}
}
