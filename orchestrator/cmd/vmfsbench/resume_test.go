package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/results"
)

// needGuest: QEMU and a cached kernel (see testenv.Guest).
func needGuest(t *testing.T) {
	t.Helper()
	testenv.Guest(t, func() error { _, err := kernel.Cached("x86_64"); return err })
}

// TestResumeAfterKill kills `vmfsbench run` between cells, resumes it, and checks that no
// cell ran twice and none was lost; then a changed spec is refused.
func TestResumeAfterKill(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "vmfsbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	specFile := filepath.Join(dir, "resume.yaml")
	spec := `version: 1
name: resume
tree: {synthetic: {files: 500, bytes: 2MiB, seed: 5}}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: {builtin: stat-all, timeout: 5m}
cache: [asis]
methods: [9p: {cache: [none, loose, mmap]}]
`
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	cmd := exec.Command(bin, "run", specFile, "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it as soon as the first cell's result is written.
	deadline := time.Now().Add(6 * time.Minute)
	for {
		m, _ := filepath.Glob(filepath.Join(out, "cells", "*.json"))
		if len(m) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no cell finished in time:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	first, err := results.FinishedCells(out)
	if err != nil || len(first) == 0 || len(first) == 3 {
		t.Fatalf("after the kill: %d finished cells (%v), want 1 or 2", len(first), err)
	}
	stamps := map[string]time.Time{}
	for id, c := range first {
		stamps[id] = c.End
	}

	if code, o, e := runCLI(t, "run", "--resume", out); code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, o, e)
	} else if !strings.Contains(o, "already had results and were not run again") {
		t.Errorf("resume output:\n%s", o)
	}
	all, err := results.FinishedCells(out)
	if err != nil || len(all) != 3 {
		t.Fatalf("after resume: %d cells (%v), want 3", len(all), err)
	}
	for id, end := range stamps {
		if !all[id].End.Equal(end) {
			t.Errorf("cell %s ran again on resume", id)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.md")); err != nil {
		t.Errorf("no report after resume: %v", err)
	}

	if err := os.WriteFile(specFile, []byte(strings.Replace(spec, "seed: 5", "seed: 6", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, e := runCLI(t, "run", "--resume", out)
	if code != 2 || !strings.Contains(e, "spec changed since the run started") {
		t.Errorf("resume with a changed spec: exit %d, stderr:\n%s", code, e)
	}
}

// TestResumeKeepsOnly: a run made with --only records it, and --resume without --only runs
// only the cells of that selection, not the rest of the spec.
func TestResumeKeepsOnly(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	specFile := filepath.Join(dir, "only.yaml")
	if err := os.WriteFile(specFile, []byte(`version: 1
name: resume-only
tree: {synthetic: {files: 500, bytes: 2MiB, seed: 5}}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: {builtin: stat-all, timeout: 5m}
cache: [asis]
methods: [9p: {cache: [none, loose]}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	if code, o, e := runCLI(t, "run", specFile, "-o", out, "--only", "9p.cache=none/*/*"); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, o, e)
	}
	meta, err := results.ReadRunMeta(out)
	if err != nil || meta.Only != "9p.cache=none/*/*" {
		t.Fatalf("run.json only %q (%v)", meta.Only, err)
	}
	if code, o, e := runCLI(t, "run", "--resume", out); code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, o, e)
	}
	all, err := results.FinishedCells(out)
	if err != nil || len(all) != 1 {
		t.Errorf("after resume: %d cells (%v), want the 1 of --only", len(all), err)
	}
}
