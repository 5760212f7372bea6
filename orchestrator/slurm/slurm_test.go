package slurm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func testJob() Job {
	return Job{Binary: "/opt/vmfsbench/bin/vmfsbench", Spec: "/home/u/specs/demo.yaml", Dir: "/shared/runs/demo",
		Name: "vmfsbench-demo", Tasks: 4, Array: []int{0, 1, 2, 3}, Time: 2*time.Hour + 30*time.Second,
		Partition: "compute", Extra: []string{"--account=tools"}, RunArgs: []string{"--verify"}}
}

// TestScript: the job array's script carries the array, --exclusive, the time limit rounded
// up to the minute, the output under the run directory, the partition and extra options, and
// runs the absolute binary on the absolute spec as shard $SLURM_ARRAY_TASK_ID/N, resuming.
func TestScript(t *testing.T) {
	j := testJob()
	j.Array = []int{3, 1}
	got := j.Script()
	for _, want := range []string{
		"#!/bin/bash\n",
		"#SBATCH --job-name=vmfsbench-demo\n",
		"#SBATCH --array=1,3\n",
		"#SBATCH --exclusive\n",
		"#SBATCH --time=0-02:01:00\n",
		"#SBATCH --output=/shared/runs/demo/slurm/%A_%a.out\n",
		"#SBATCH --partition=compute\n",
		"#SBATCH --account=tools\n",
		"exec /opt/vmfsbench/bin/vmfsbench run --resume /shared/runs/demo /home/u/specs/demo.yaml --shard \"$SLURM_ARRAY_TASK_ID/4\" --verify\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("script lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "exec ") < strings.LastIndex(got, "#SBATCH") {
		t.Errorf("an #SBATCH line after the first command is ignored by sbatch:\n%s", got)
	}
	rep := j.ReportScriptText()
	for _, want := range []string{
		"#SBATCH --job-name=vmfsbench-demo-report\n", "#SBATCH --output=/shared/runs/demo/slurm/report-%j.out\n",
		"#SBATCH --partition=compute\n", "exec /opt/vmfsbench/bin/vmfsbench report /shared/runs/demo\n",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report script lacks %q:\n%s", want, rep)
		}
	}
	if strings.Contains(rep, "--exclusive") || strings.Contains(rep, "--array") {
		t.Errorf("the report job takes no node of its own and is no array:\n%s", rep)
	}
	j.Partition, j.Extra = "", nil
	if s := j.Script(); strings.Contains(s, "--partition") {
		t.Errorf("no partition asked, one written:\n%s", s)
	}
}

// TestArgv: the sbatch commands.
func TestArgv(t *testing.T) {
	if got := SubmitArgs("/d/slurm.sbatch"); !slices.Equal(got, []string{"sbatch", "--parsable", "/d/slurm.sbatch"}) {
		t.Errorf("SubmitArgs: %q", got)
	}
	want := []string{"sbatch", "--parsable", "--dependency=afterany:41", "--kill-on-invalid-dep=no", "/d/slurm-report.sbatch"}
	if got := ReportArgs("/d/slurm-report.sbatch", "41"); !slices.Equal(got, want) {
		t.Errorf("ReportArgs: %q", got)
	}
	if got := SqueueArgs([]string{"41", "42"}); !slices.Equal(got, []string{"squeue", "--noheader", "--jobs=41,42", "--format=%i %T"}) {
		t.Errorf("SqueueArgs: %q", got)
	}
	if got := ScontrolArgs("41"); !slices.Equal(got, []string{"scontrol", "--oneliner", "show", "job", "41"}) {
		t.Errorf("ScontrolArgs: %q", got)
	}
}

// TestCheck: paths a batch script cannot carry, and tasks out of range.
func TestCheck(t *testing.T) {
	if err := testJob().Check(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Job){
		"relative": func(j *Job) { j.Spec = "specs/demo.yaml" },
		"space":    func(j *Job) { j.Dir = "/shared/my runs" },
		"percent":  func(j *Job) { j.Dir = "/shared/100%" },
		"no tasks": func(j *Job) { j.Array = nil },
		"range":    func(j *Job) { j.Array = []int{4} },
	} {
		j := testJob()
		mod(&j)
		if err := j.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestArraySpecAndTime(t *testing.T) {
	for _, tc := range []struct {
		ids  []int
		want string
	}{{[]int{0}, "0"}, {[]int{0, 1, 2, 3}, "0-3"}, {[]int{5, 0, 1, 3, 6, 7}, "0-1,3,5-7"}, {[]int{2, 2}, "2"}} {
		if got := ArraySpec(tc.ids); got != tc.want {
			t.Errorf("ArraySpec(%v) = %s, want %s", tc.ids, got, tc.want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0-00:01:00", 90 * time.Second: "0-00:02:00", 25*time.Hour + time.Minute: "1-01:01:00"} {
		if got := FormatTime(d); got != want {
			t.Errorf("FormatTime(%v) = %s, want %s", d, got, want)
		}
	}
	// The demo: 7 cells a task, 2 min boot and 10 min workload timeouts.
	if got := TaskTime(7, 2*time.Minute, 10*time.Minute); got != StartMargin+7*(12*time.Minute+CellMargin) {
		t.Errorf("TaskTime = %v", got)
	}
}

func TestParse(t *testing.T) {
	for out, want := range map[string]string{"41\n": "41", "41;cluster\n": "41", "sbatch: warning: x\n42\n": "42"} {
		if got, err := ParseJobID([]byte(out)); err != nil || got != want {
			t.Errorf("ParseJobID(%q) = %q, %v", out, got, err)
		}
	}
	if _, err := ParseJobID([]byte("Submitted batch job\n")); err == nil {
		t.Error("ParseJobID took a line without an id")
	}
	tasks, err := ParseSqueue([]byte("41_[2-3] PENDING\n41_1 RUNNING\n42 PENDING\n"))
	if err != nil || len(tasks) != 3 || tasks[0] != (Task{"41_[2-3]", "PENDING"}) || tasks[1] != (Task{"41_1", "RUNNING"}) {
		t.Errorf("ParseSqueue: %v %v", tasks, err)
	}
	if _, err := ParseSqueue([]byte("41 RUNNING extra\n")); err == nil {
		t.Error("ParseSqueue took a line of three fields")
	}
	sc := "JobId=43 ArrayJobId=41 ArrayTaskId=1 JobName=x JobState=CANCELLED Reason=None\n" +
		"JobId=41 ArrayJobId=41 ArrayTaskId=0 JobName=x JobState=COMPLETED Reason=None\n"
	tasks, err = ParseScontrol([]byte(sc))
	if err != nil || !slices.Equal(tasks, []Task{{"41_1", "CANCELLED"}, {"41_0", "COMPLETED"}}) {
		t.Errorf("ParseScontrol: %v %v", tasks, err)
	}
	if tasks, _ := ParseScontrol([]byte("JobId=44 JobName=r JobState=TIMEOUT\n")); !slices.Equal(tasks, []Task{{"44", "TIMEOUT"}}) {
		t.Errorf("ParseScontrol of a plain job: %v", tasks)
	}
}

// TestClientFaults: what the real Slurm cannot be made to do on demand: sbatch refusing a
// job or printing no id, squeue failing, and a job Slurm has forgotten.
func TestClientFaults(t *testing.T) {
	ctx := context.Background()
	refuse := Client{Exec: func(_ context.Context, argv []string) ([]byte, error) {
		return nil, errors.New("sbatch: error: invalid partition specified: nope")
	}}
	if _, err := refuse.Submit(ctx, SubmitArgs("/x")); err == nil || !strings.Contains(err.Error(), "invalid partition") {
		t.Errorf("refused submission: %v", err)
	}
	garbled := Client{Exec: func(context.Context, []string) ([]byte, error) { return []byte("oops\n"), nil }}
	if _, err := garbled.Submit(ctx, SubmitArgs("/x")); err == nil || !strings.Contains(err.Error(), "not a job id") {
		t.Errorf("garbled sbatch output: %v", err)
	}
	forgot := Client{Exec: func(_ context.Context, argv []string) ([]byte, error) {
		return nil, errors.New("squeue: slurm_load_jobs error: Invalid job id specified")
	}}
	if tasks, err := forgot.Wait(ctx, []string{"41"}, nil); err != nil || len(tasks) != 0 {
		t.Errorf("forgotten job: %v %v", tasks, err)
	}
	down := Client{Exec: func(context.Context, []string) ([]byte, error) {
		return nil, errors.New("squeue: error: Unable to contact slurm controller (connect failure)")
	}}
	if _, err := down.Wait(ctx, []string{"41"}, nil); err == nil || !strings.Contains(err.Error(), "Unable to contact") {
		t.Errorf("controller down: %v", err)
	}
	// States change, then the jobs leave the queue.
	polls := [][]byte{[]byte("41_[0-1] PENDING\n"), []byte("41_0 RUNNING\n41_1 PENDING\n"), []byte("41_1 RUNNING\n"), nil}
	var seen []string
	seq := Client{Poll: time.Millisecond, Exec: func(_ context.Context, argv []string) ([]byte, error) {
		if argv[0] == "scontrol" {
			return []byte("JobId=41 ArrayJobId=41 ArrayTaskId=0 JobState=COMPLETED\nJobId=42 ArrayJobId=41 ArrayTaskId=1 JobState=FAILED\n"), nil
		}
		out := polls[0]
		polls = polls[1:]
		return out, nil
	}}
	final, err := seq.Wait(ctx, []string{"41"}, func(t Task) { seen = append(seen, t.ID+" "+t.State) })
	if err != nil || len(final) != 2 || final[1].State != "FAILED" {
		t.Errorf("Wait: %v %v", final, err)
	}
	if want := []string{"41_[0-1] PENDING", "41_0 RUNNING", "41_1 PENDING", "41_1 RUNNING"}; !slices.Equal(seen, want) {
		t.Errorf("seen %q, want %q", seen, want)
	}
}
