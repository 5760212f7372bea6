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
	needSlurmCluster(t)
}

// needSlurmCluster: a Slurm cluster takes jobs here, or a loud skip (a failure with CI=true).
func needSlurmCluster(t *testing.T) {
	t.Helper()
	testenv.NotShort(t, "submitting to Slurm")
	fail := func(why string) {
		t.Helper()
		testenv.Missing(t, "no Slurm cluster: %s (.ci/slurm start sets up a one-node cluster)", why)
	}
	for _, c := range []string{"sbatch", "squeue", "scancel", "sinfo", "scontrol"} {
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
	wait := startBin(t, bin, "slurm", specFile, "-o", dir, "--tasks", "2", "--wait")

	// Shard 0 holds cells 0 and 2: once its task has finished cell 0 and started cell 2,
	// cancel the task.
	shard0 := (run.Shard{Index: 0, Count: 2}).Cells(planned)
	var arrayID string
	deadline := time.Now().Add(8 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("shard 0 never had one cell done")
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
	code, out, errs := wait(8 * time.Minute)
	if code != 1 {
		t.Errorf("slurm --wait after a cancelled task: exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{"1 of 3 cells have no result", "submit the missing ones with: vmfsbench slurm --resume " + dir} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(errs, arrayID+"_0 CANCELLED") {
		t.Errorf("stderr does not name the cancelled task:\n%s", errs)
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
	os.WriteFile(filepath.Join(bin, "scontrol"), []byte("#!/bin/sh\necho PartitionName=debug Default=YES MaxTime=UNLIMITED State=UP\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "squeue"), []byte("#!/bin/sh\n"), 0o755)
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
	// Every value that goes into a batch script: a newline would make a line of the script,
	// which would run.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--partition", "debug\ntouch " + called}, `the partition "debug\ntouch ` + called + `" holds the control character U+000A`},
		{[]string{"--sbatch-arg", "--account=a\ntouch " + called}, `the sbatch option "--account=a\ntouch ` + called + `" holds the control character U+000A`},
		{[]string{"--sbatch-arg", "--comment=\x1b]0;x\a"}, "holds the control character U+001B"},
		{[]string{"--sbatch-arg", "--time=5"}, `the sbatch option "--time=5" is one vmfsbench writes itself`},
		{[]string{"--sbatch-arg", "-p short"}, "is one vmfsbench writes itself"},
		{[]string{"--time", "600000h"}, "a task's time limit of 25000-00:00:00 is more than Slurm can hold (24855-00:00:00)"},
	} {
		out := filepath.Join(tmp, "refused")
		code, _, errs := runCLI(t, append([]string{"slurm", specFile, "-o", out}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d\n%s\nwant it to say %q", tc.args, code, errs, tc.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%q: the run directory was made: %v", tc.args, err)
		}
	}
	// A timeout longer than any task limit Slurm holds is the spec's error, with its place.
	long := filepath.Join(tmp, "long.yaml")
	os.WriteFile(long, []byte(strings.Replace(slurmSpec, "timeout: 5m", "timeout: 2562048h", 1)), 0o644)
	code, _, errs = runCLI(t, "slurm", long, "-o", filepath.Join(tmp, "long"))
	if code != 2 || !strings.Contains(errs, long+`:9:40: workload.timeout: duration "2562048h" is longer than 365d`) {
		t.Errorf("overlong timeout: exit %d\n%s", code, errs)
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

// slurmJobs reads the job ids a submission recorded in dir's slurm.json, waiting up to a
// minute for both; it cancels them when the test ends.
func slurmJobs(t *testing.T, dir string) (array, report string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var rec slurmRecord
		readJSON(filepath.Join(dir, slurmRecordFile), &rec)
		if n := len(rec.Jobs); n > 0 && rec.Jobs[n-1].Report != "" {
			array, report = rec.Jobs[n-1].Array, rec.Jobs[n-1].Report
			t.Cleanup(func() { exec.Command("scancel", array, report).Run() })
			return array, report
		}
	}
	t.Fatalf("no job ids in %s", filepath.Join(dir, slurmRecordFile))
	return "", ""
}

// startBin starts the built vmfsbench with args; wait returns its exit code and output.
func startBin(t *testing.T, bin string, args ...string) (wait func(time.Duration) (int, string, string)) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return func(limit time.Duration) (int, string, string) {
		t.Helper()
		select {
		case err := <-done:
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			return code, out.String(), errb.String()
		case <-time.After(limit):
			cmd.Process.Kill()
			t.Fatalf("vmfsbench %q still runs after %s:\n%s%s", args, limit, out.String(), errb.String())
			return 0, "", ""
		}
	}
}

// TestSlurmOneSubmissionPerDir: while the jobs of a submission are queued (held, so that no
// task runs), a second submission into its directory, of another spec, is refused naming
// them, and nothing of the first changes; so is a resume. Once they are cancelled, the first's
// --wait ends without naming a report no job wrote, and the directory takes a submission
// again. No guest boots.
func TestSlurmOneSubmissionPerDir(t *testing.T) {
	needSlurmCluster(t)
	bin := cliBinary(t)
	tmp := t.TempDir()
	specFile, _ := writeSlurmSpec(t, tmp)
	dir := filepath.Join(tmp, "run")
	wait := startBin(t, bin, "slurm", specFile, "-o", dir, "--tasks", "2", "--sbatch-arg=--hold", "--wait")
	array, report := slurmJobs(t, dir)
	spec0, _ := os.ReadFile(filepath.Join(dir, results.SpecFile))
	rec0, _ := os.ReadFile(filepath.Join(dir, slurmRecordFile))

	other := filepath.Join(tmp, "other.yaml")
	os.WriteFile(other, []byte(strings.Replace(slurmSpec, "  - ext4: {}\n", "", 1)), 0o644)
	for _, args := range [][]string{{"slurm", other, "-o", dir, "--sbatch-arg=--hold"}, {"slurm", "--resume", dir}} {
		code, out, errs := runBin(t, bin, args...)
		if code != 2 || !strings.Contains(errs, dir+" has a Slurm submission still in the queue (jobs "+array+"_[0-1] PENDING, "+report+" PENDING)") ||
			!strings.Contains(errs, "scancel "+array+" "+report) {
			t.Errorf("%q beside a queued submission: exit %d\n%s%s", args, code, out, errs)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, results.SpecFile)); !bytes.Equal(b, spec0) {
		t.Errorf("the refused submission replaced the run's spec")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, slurmRecordFile)); !bytes.Equal(b, rec0) {
		t.Errorf("the refused submission changed slurm.json:\n%s\nwas\n%s", b, rec0)
	}

	if out, err := exec.Command("scancel", array, report).CombinedOutput(); err != nil {
		t.Fatalf("scancel: %v %s", err, out)
	}
	code, out, errs := wait(2 * time.Minute)
	if code != 1 || !strings.Contains(errs, "3 of 3 cells have no result") {
		t.Errorf("--wait after the cancel: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out, "report    ") || !strings.Contains(errs, "the report job "+report+" wrote no report") {
		t.Errorf("--wait names a report no job wrote:\n%s%s", out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, results.ReportFile)); err == nil {
		t.Errorf("a report was written")
	}

	// Over: the directory, which holds no cell, takes another submission.
	code, out, errs = runBin(t, bin, "slurm", other, "-o", dir, "--sbatch-arg=--hold")
	if code != 0 {
		t.Fatalf("a submission after the first was cancelled: exit %d\n%s%s", code, out, errs)
	}
	slurmJobs(t, dir)
	if b, _ := os.ReadFile(filepath.Join(dir, results.SpecFile)); bytes.Equal(b, spec0) {
		t.Errorf("the new submission kept the old spec")
	}
}

// TestSlurmPartitionTimeLimit, against the cluster's short partition (MaxTime 15 minutes):
// a submission whose tasks' time limit is longer is refused before anything is submitted or
// written, and so is an unknown partition. A submission that fits, whose partition's MaxTime
// is then lowered under it, is pending for PartitionTimeLimit: --wait says so and exits 1
// instead of waiting for good. No guest boots.
func TestSlurmPartitionTimeLimit(t *testing.T) {
	needSlurmCluster(t)
	bin := cliBinary(t)
	tmp := t.TempDir()
	specFile, _ := writeSlurmSpec(t, tmp)
	out := filepath.Join(tmp, "refused")
	code, _, errs := runBin(t, bin, "slurm", specFile, "-o", out, "--partition", "short")
	want := "each task's time limit, 0-00:25:00 (the spec's boot and workload timeouts with margins for a task of 1 cells), is longer than partition short allows (MaxTime 0-00:15:00)"
	if code != 2 || !strings.Contains(errs, want) {
		t.Errorf("a limit over the partition's: exit %d\n%s\nwant %q", code, errs, want)
	}
	code, _, errs = runBin(t, bin, "slurm", specFile, "-o", out, "--partition", "nosuch")
	if code != 2 || !strings.Contains(errs, `the cluster has no partition "nosuch" (it has debug, short)`) {
		t.Errorf("an unknown partition: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused submission made its run directory: %v", err)
	}

	dir := filepath.Join(tmp, "run")
	wait := startBin(t, bin, "slurm", specFile, "-o", dir, "--partition", "short", "--time", "10m", "--sbatch-arg=--hold", "--wait")
	array, report := slurmJobs(t, dir)
	scontrol := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("scontrol", args...).CombinedOutput(); err != nil {
			t.Fatalf("scontrol %q: %v %s", args, err, out)
		}
	}
	scontrol("update", "PartitionName=short", "MaxTime=5")
	t.Cleanup(func() { exec.Command("scontrol", "update", "PartitionName=short", "MaxTime=15").Run() })
	scontrol("release", array)
	code, stdout, errs := wait(2 * time.Minute)
	for _, want := range []string{
		"the tasks cannot start: job " + array + "_[0-2] is pending for PartitionTimeLimit, which waiting does not change",
		"(the tasks' time limit is 0-00:10:00; partition short's MaxTime is now 0-00:05:00)",
		"the jobs stay in the queue: scancel " + array + " " + report,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("--wait on a job that cannot start: stderr lacks %q:\n%s", want, errs)
		}
	}
	if code != 1 {
		t.Errorf("--wait on a job that cannot start: exit %d\n%s%s", code, stdout, errs)
	}
}
