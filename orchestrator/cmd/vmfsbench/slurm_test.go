package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/run"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/results"
)

// needSlurm: a guest can boot, and a Slurm cluster takes jobs here (.ci/slurm start makes a
// one-node one), or a loud skip (a failure with CI=true).
func needSlurm(t *testing.T) {
	t.Helper()
	needGuest(t)
	fail := func(why string) {
		t.Helper()
		testenv.Missing(t, "no Slurm cluster: %s (.ci/slurm start sets up a one-node cluster)", why)
	}
	for _, c := range []string{"sbatch", "squeue", "scancel", "sinfo"} {
		if _, err := exec.LookPath(c); err != nil {
			fail(c + " is not installed")
		}
	}
	out, err := exec.Command("sinfo", "--noheader", "--format=%T").CombinedOutput()
	if err != nil {
		fail("sinfo: " + strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), "idle") && !strings.Contains(string(out), "mixed") && !strings.Contains(string(out), "allocated") {
		fail("no Slurm node takes jobs: " + strings.TrimSpace(string(out)))
	}
}

// slurmSpec is three cells of specs/demo.yaml (its tree, guest and workload; three of its
// methods in one cache state), so that a 2-task array runs 2 + 1 cells.
const slurmSpec = `version: 1
name: slurm-demo
tree:
  synthetic: {files: 600, bytes: 6MiB, seed: 1}
  exclude: [.git, build/*, "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
guest: {arch: x86_64, mountpoint: /root/llvm-project}
qemu: {cpus: 2, memory: 1GiB, accel: auto}
workload: {builtin: read-all, timeout: 5m}
cache: [asis]
methods:
  - squashfs: {compression: none}
  - erofs: {}
  - ext4: {}
`

func writeSlurmSpec(t *testing.T, dir string) (string, []plan.Cell) {
	t.Helper()
	f := filepath.Join(dir, "slurm-demo.yaml")
	if err := os.WriteFile(f, []byte(slurmSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := spec.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	cells, err := plan.Cells(e)
	if err != nil {
		t.Fatal(err)
	}
	return f, cells
}

// runBin runs the built vmfsbench with args, returning its exit code and output.
func runBin(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func cellIDs(m map[string]*results.Cell) []string {
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestSlurmArray submits a 3-cell run as a 2-task job array to the real Slurm with
// `vmfsbench slurm --wait`: it exits 0, and the merged run directory holds every cell, ok,
// its digest equal to the host's, each naming its node, and one report written by the
// dependent report job. The same spec run unsharded gives the same cell set.
func TestSlurmArray(t *testing.T) {
	needSlurm(t)
	bin := cliBinary(t)
	tmp := t.TempDir()
	specFile, planned := writeSlurmSpec(t, tmp)
	dir := filepath.Join(tmp, "sharded")
	code, out, errs := runBin(t, bin, "slurm", specFile, "-o", dir, "--tasks", "2", "--wait")
	if code != 0 {
		t.Fatalf("slurm --wait: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"job array ", "tasks 0-1 of 2 shards, 3 cells", "report job ", "follow them: squeue -j "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	script, err := os.ReadFile(filepath.Join(dir, "slurm.sbatch"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --exclusive", "#SBATCH --array=0-1", "exec " + bin + " run --resume " + dir + " " + specFile + ` --shard "$SLURM_ARRAY_TASK_ID/2"`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("slurm.sbatch lacks %q:\n%s", want, script)
		}
	}
	got, err := results.FinishedCells(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(planned) {
		t.Fatalf("%d cells in the merged run, want %d: %v", len(got), len(planned), cellIDs(got))
	}
	for id, c := range got {
		if c.Status != results.StatusOK || c.DigestOK == nil || !*c.DigestOK {
			t.Errorf("cell %s: status %s, digest match %v: %s", id, c.Status, c.DigestOK, c.Error)
		}
		if c.Host == nil || c.Host.Node == "" || c.Host.QEMU == "" {
			t.Errorf("cell %s names no node: %+v", id, c.Host)
		}
	}
	rep, err := os.ReadFile(filepath.Join(dir, results.ReportFile))
	if err != nil || !strings.Contains(string(rep), "3 cells (3 ok, 0 failed)") {
		t.Errorf("report: %v\n%s", err, rep)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "slurm", "report-*.out")); len(m) != 1 {
		t.Errorf("report job output: %v, want one", m)
	} else if b, _ := os.ReadFile(m[0]); !strings.Contains(string(b), "3 cells (3 ok, 0 failed)") {
		t.Errorf("report job said:\n%s", b)
	}
	if m, err := results.ReadRunMeta(dir); err != nil || m.SpecSHA256 == "" {
		t.Errorf("run.json: %v", err)
	} else {
		// The shard that completed the run gave it the end of its last cell.
		var last time.Time
		for _, c := range got {
			if c.End.After(last) {
				last = c.End
			}
		}
		if !m.End.Equal(last) || !m.End.After(m.Start) {
			t.Errorf("run.json: start %v end %v, want the end of the last cell %v", m.Start, m.End, last)
		}
	}

	// The same cells unsharded.
	whole := filepath.Join(tmp, "whole")
	if code, out, errs := runBin(t, bin, "run", specFile, "-o", whole); code != 0 {
		t.Fatalf("unsharded run: exit %d\n%s%s", code, out, errs)
	}
	want, err := results.FinishedCells(whole)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cellIDs(got), cellIDs(want); !slices.Equal(a, b) {
		t.Errorf("sharded cells %v, unsharded %v", a, b)
	}
}

// TestSlurmResumeAfterCancel cancels one array task of a running submission mid-cell with
// scancel: `slurm --wait` exits 1 naming the missing cells; `slurm --resume DIR` then
// submits only that task's shard, which runs only its cell without a result; no finished
// cell runs again, and the run ends complete.
func TestSlurmResumeAfterCancel(t *testing.T) {
	needSlurm(t)
	bin := cliBinary(t)
	tmp := t.TempDir()
	specFile, planned := writeSlurmSpec(t, tmp)
	dir := filepath.Join(tmp, "run")
	cmd := exec.Command(bin, "slurm", specFile, "-o", dir, "--tasks", "2", "--wait")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	// Shard 0 holds cells 0 and 2: once its task has finished cell 0 and started cell 2,
	// cancel the task.
	shard0 := (run.Shard{Index: 0, Count: 2}).Cells(planned)
	var arrayID string
	deadline := time.Now().Add(8 * time.Minute)
	for {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("shard 0 never had one cell done:\n%s%s", out.String(), errb.String())
		}
		time.Sleep(200 * time.Millisecond)
		var rec slurmRecord
		readJSON(filepath.Join(dir, slurmRecordFile), &rec)
		if len(rec.Jobs) == 0 {
			continue
		}
		arrayID = rec.Jobs[0].Array
		done, _ := results.FinishedCells(dir)
		if done[shard0[0].ID] != nil && done[shard0[1].ID] == nil {
			break
		}
	}
	time.Sleep(3 * time.Second) // into cell 2: building, booting
	if b, err := exec.Command("scancel", arrayID+"_0").CombinedOutput(); err != nil {
		t.Fatalf("scancel: %v %s", err, b)
	}
	select {
	case err := <-waited:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("slurm --wait after a cancelled task: %v, want exit 1\n%s%s", err, out.String(), errb.String())
		}
	case <-time.After(8 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("slurm --wait did not return:\n%s%s", out.String(), errb.String())
	}
	for _, want := range []string{"1 of 3 cells have no result", "submit the missing ones with: vmfsbench slurm --resume " + dir} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if !strings.Contains(errb.String(), arrayID+"_0 CANCELLED") {
		t.Errorf("stderr does not name the cancelled task:\n%s", errb.String())
	}
	before, err := results.FinishedCells(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(planned)-1 || before[shard0[1].ID] != nil {
		t.Fatalf("after the cancel: cells %v, want all but %s", cellIDs(before), shard0[1].ID)
	}

	code, o, e := runBin(t, bin, "slurm", "--resume", dir, "--wait")
	if code != 0 {
		t.Fatalf("slurm --resume --wait: exit %d\n%s%s", code, o, e)
	}
	if !strings.Contains(o, "tasks 0 of 2 shards, 1 cells") {
		t.Errorf("resume did not submit shard 0 alone:\n%s", o)
	}
	var rec slurmRecord
	readJSON(filepath.Join(dir, slurmRecordFile), &rec)
	if len(rec.Jobs) != 2 || rec.Jobs[1].Tasks != "0" {
		t.Errorf("slurm.json: %+v", rec)
	}
	taskOut, _ := os.ReadFile(filepath.Join(dir, "slurm", rec.Jobs[len(rec.Jobs)-1].Array+"_0.out"))
	if !strings.Contains(string(taskOut), "1 cells already had results and were not run again") {
		t.Errorf("the resumed task's output:\n%s", taskOut)
	}
	after, err := results.FinishedCells(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(planned) {
		t.Fatalf("after resume: %v", cellIDs(after))
	}
	for id, c := range before {
		if !after[id].End.Equal(c.End) {
			t.Errorf("cell %s ran again", id)
		}
	}
	for id, c := range after {
		if c.Status != results.StatusOK {
			t.Errorf("cell %s: %s %s", id, c.Status, c.Error)
		}
	}
	// Nothing is left to submit.
	code, o, e = runBin(t, bin, "slurm", "--resume", dir)
	if code != 0 || !strings.Contains(o, "nothing to submit") {
		t.Errorf("a complete run resumed: exit %d\n%s%s", code, o, e)
	}
	var s results.Summary
	if b, err := os.ReadFile(filepath.Join(dir, results.SummaryJSON)); err != nil || json.Unmarshal(b, &s) != nil || len(s.Cells) != len(planned) {
		t.Errorf("summary.json after resume: %v, %d cells", err, len(s.Cells))
	}
}

// TestSlurmRefusesBeforeSubmitting: what the Slurm path needs is checked before anything is
// submitted, each with a clear error and exit 2: sbatch missing, a spec that does not
// validate, a run directory that is not one; DIR's filesystem is named. A stand-in sbatch
// (the fault cases real Slurm cannot be asked for) records whether it was called.
func TestSlurmRefusesBeforeSubmitting(t *testing.T) {
	tmp := t.TempDir()
	specFile, _ := writeSlurmSpec(t, tmp)
	t.Setenv("PATH", filepath.Join(tmp, "nowhere"))
	code, _, errs := runCLI(t, "slurm", specFile, "-o", filepath.Join(tmp, "a"))
	if code != 2 || !strings.Contains(errs, "sbatch is not installed here") {
		t.Errorf("without sbatch: exit %d\n%s", code, errs)
	}

	bin := filepath.Join(tmp, "bin")
	os.Mkdir(bin, 0o755)
	called := filepath.Join(tmp, "sbatch-called")
	os.WriteFile(filepath.Join(bin, "sbatch"), []byte("#!/bin/sh\n/usr/bin/touch "+called+"\necho 1\n"), 0o755)
	t.Setenv("PATH", bin)
	bad := filepath.Join(tmp, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(slurmSpec, "timeout: 5m", "timeout: soon", 1)), 0o644)
	code, _, errs = runCLI(t, "slurm", bad, "-o", filepath.Join(tmp, "b"))
	if code != 2 || !strings.Contains(errs, "workload.timeout") {
		t.Errorf("invalid spec: exit %d\n%s", code, errs)
	}
	junk := filepath.Join(tmp, "junk")
	os.Mkdir(junk, 0o755)
	os.WriteFile(filepath.Join(junk, "notes.txt"), nil, 0o644)
	code, _, errs = runCLI(t, "slurm", specFile, "-o", junk)
	if code != 2 || !strings.Contains(errs, "is not a vmfsbench run directory") {
		t.Errorf("non-run directory: exit %d\n%s", code, errs)
	}
	code, _, errs = runCLI(t, "slurm", specFile, "-o", filepath.Join(tmp, "my runs"))
	if code != 2 || !strings.Contains(errs, "white space") {
		t.Errorf("run directory with a space: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(called); err == nil {
		t.Error("sbatch was called for a submission that should have been refused")
	}
	// A good one goes through the stand-in, with the note on DIR's filesystem.
	code, out, errs := runCLI(t, "slurm", specFile, "-o", filepath.Join(tmp, "ok"), "--tasks", "2")
	if code != 0 || !strings.Contains(errs, "note: "+filepath.Join(tmp, "ok")+" is on ") || !strings.Contains(out, "squeue -j 1,1") {
		t.Errorf("good submission through the stand-in: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(called); err != nil {
		t.Error("sbatch was not called")
	}
}
