package slurm

import (
	"context"
	"errors"
	"math"
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
	if got := SqueueArgs([]string{"41", "42"}); !slices.Equal(got, []string{"squeue", "--noheader", "--jobs=41,42", "--format=%i %T %r"}) {
		t.Errorf("SqueueArgs: %q", got)
	}
	if got := ScontrolArgs("41"); !slices.Equal(got, []string{"scontrol", "--oneliner", "show", "job", "41"}) {
		t.Errorf("ScontrolArgs: %q", got)
	}
}

// TestJobCheck: what a batch script cannot carry (paths, control characters in any value,
// options vmfsbench writes itself), time limits Slurm cannot hold, and tasks out of range.
func TestJobCheck(t *testing.T) {
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
	// Every value the scripts carry: a newline would be a line of the script, and run.
	for name, tc := range map[string]struct {
		mod  func(*Job)
		want string
	}{
		"partition newline": {func(j *Job) { j.Partition = "debug\ntouch /tmp/owned" }, `partition "debug\ntouch /tmp/owned" holds the control character U+000A`},
		"partition CR":      {func(j *Job) { j.Partition = "debug\r" }, "U+000D"},
		"partition space":   {func(j *Job) { j.Partition = "debug short" }, "white space"},
		"extra newline":     {func(j *Job) { j.Extra = []string{"--account=a\nrm -rf ~"} }, `sbatch option "--account=a\nrm -rf ~" holds the control character U+000A`},
		"extra escape":      {func(j *Job) { j.Extra = []string{"--comment=\x1b[2J"} }, "U+001B"},
		"extra line sep":    {func(j *Job) { j.Extra = []string{"--comment=a\u2028b"} }, "U+2028"},
		"extra no option":   {func(j *Job) { j.Extra = []string{"hostname"} }, "is not an option"},
		"extra time":        {func(j *Job) { j.Extra = []string{"--time=10"} }, "vmfsbench writes itself"},
		"extra time spaced": {func(j *Job) { j.Extra = []string{"--time 10"} }, "vmfsbench writes itself"},
		"extra partition":   {func(j *Job) { j.Extra = []string{"-pshort"} }, "vmfsbench writes itself"},
		"extra array":       {func(j *Job) { j.Extra = []string{"--array=0-99"} }, "vmfsbench writes itself"},
		"name newline":      {func(j *Job) { j.Name = "demo\nid" }, "job name"},
		"run arg newline":   {func(j *Job) { j.RunArgs = []string{"--only=a\nb"} }, "argument of vmfsbench run"},
		"dir newline":       {func(j *Job) { j.Dir = "/shared/a\nb" }, "run directory"},
		"time beyond Slurm": {func(j *Job) { j.Time = MaxTime + time.Minute }, "more than Slurm can hold (24855-00:00:00)"},
		"time overflowed":   {func(j *Job) { j.Time = TaskTime(1000, 365*24*time.Hour, 365*24*time.Hour) }, "more than Slurm can hold"},
		"time negative":     {func(j *Job) { j.Time = -time.Hour }, "more than Slurm can hold"},
	} {
		j := testJob()
		tc.mod(&j)
		if err := j.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
	for _, extra := range []string{"--account=tools", "--time-min=10", "--constraint=avx512", "-A tools", "--comment=ünïcode"} {
		j := testJob()
		j.Extra = []string{extra}
		if err := j.Check(); err != nil {
			t.Errorf("%q refused: %v", extra, err)
		}
	}
	j := testJob()
	j.Time = MaxTime
	if err := j.Check(); err != nil {
		t.Errorf("the longest limit Slurm holds: %v", err)
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
	// A sum past what a Duration holds saturates instead of wrapping to a short limit.
	year := 365 * 24 * time.Hour
	for _, tc := range []struct {
		cells          int
		boot, workload time.Duration
	}{{1000, year, year}, {1, math.MaxInt64 / 2, math.MaxInt64 / 2}, {math.MaxInt32, time.Hour, time.Hour}} {
		if got := TaskTime(tc.cells, tc.boot, tc.workload); got != math.MaxInt64 {
			t.Errorf("TaskTime(%d, %v, %v) = %v, want the largest Duration", tc.cells, tc.boot, tc.workload, got)
		}
	}
	if got := FormatTime(MaxTime); got != "24855-00:00:00" {
		t.Errorf("FormatTime(MaxTime) = %s", got)
	}
	// The report job fits where the tasks fit.
	j := testJob()
	if j.ReportTime() != ReportTime {
		t.Errorf("report time %v", j.ReportTime())
	}
	j.Time = 10 * time.Minute
	if j.ReportTime() != 10*time.Minute || !strings.Contains(j.ReportScriptText(), "#SBATCH --time=0-00:10:00\n") {
		t.Errorf("report time under a 10-minute task limit: %v\n%s", j.ReportTime(), j.ReportScriptText())
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
	tasks, err := ParseSqueue([]byte("41_[2-3] PENDING Priority\n41_1 RUNNING None\n42 PENDING Dependency\n43 PENDING ReqNodeNotAvail, UnavailableNodes:n1\n"))
	if err != nil || len(tasks) != 4 || tasks[0] != (Task{"41_[2-3]", "PENDING", "Priority"}) || tasks[1] != (Task{"41_1", "RUNNING", "None"}) ||
		tasks[3].Reason != "ReqNodeNotAvail, UnavailableNodes:n1" {
		t.Errorf("ParseSqueue: %v %v", tasks, err)
	}
	if _, err := ParseSqueue([]byte("41 RUNNING\n")); err == nil {
		t.Error("ParseSqueue took a line without a reason")
	}
	sc := "JobId=43 ArrayJobId=41 ArrayTaskId=1 JobName=x JobState=CANCELLED Reason=None\n" +
		"JobId=41 ArrayJobId=41 ArrayTaskId=0 JobName=x JobState=COMPLETED Reason=None\n"
	tasks, err = ParseScontrol([]byte(sc))
	if err != nil || !slices.Equal(tasks, []Task{{"41_1", "CANCELLED", ""}, {"41_0", "COMPLETED", ""}}) {
		t.Errorf("ParseScontrol: %v %v", tasks, err)
	}
	if tasks, _ := ParseScontrol([]byte("JobId=44 JobName=r JobState=TIMEOUT\n")); !slices.Equal(tasks, []Task{{"44", "TIMEOUT", ""}}) {
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
	polls := [][]byte{[]byte("41_[0-1] PENDING Priority\n"), []byte("41_[0-1] PENDING Resources\n"), []byte("41_0 RUNNING None\n41_1 PENDING Resources\n"), []byte("41_1 RUNNING None\n"), nil}
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
	if want := []string{"41_[0-1] PENDING", "41_[0-1] PENDING", "41_0 RUNNING", "41_1 PENDING", "41_1 RUNNING"}; !slices.Equal(seen, want) {
		t.Errorf("seen %q, want %q", seen, want)
	}

	// A reason waiting does not outlive ends the wait at once, naming it; the jobs stay.
	polls = [][]byte{[]byte("41_[0-1] PENDING Priority\n42 PENDING Dependency\n"), []byte("41_[0-1] PENDING PartitionTimeLimit\n42 PENDING Dependency\n")}
	var pe *PendingError
	if _, err := seq.Wait(ctx, []string{"41", "42"}, nil); !errors.As(err, &pe) || pe.Task.ID != "41_[0-1]" || !strings.Contains(err.Error(), "pending for PartitionTimeLimit") {
		t.Errorf("Wait on a job that never starts: %v", err)
	}
	if len(polls) != 0 {
		t.Errorf("Wait went on polling after PartitionTimeLimit")
	}
}

// TestNeverStarts: the pending reasons that waiting does not change, and some it does.
func TestNeverStarts(t *testing.T) {
	for _, r := range []string{"PartitionTimeLimit", "PartitionNodeLimit", "DependencyNeverSatisfied", "BadConstraints", "InvalidAccount", "QOSMaxWallDurationPerJobLimit", "AssocMaxCpuPerJobLimit"} {
		if !NeverStarts(r) {
			t.Errorf("%s: waited on", r)
		}
	}
	for _, r := range []string{"Priority", "Resources", "Dependency", "BeginTime", "JobHeldUser", "PartitionDown", "QOSMaxJobsPerUserLimit", "AssocGrpCPUMinutesLimit", "None", ""} {
		if NeverStarts(r) {
			t.Errorf("%s: given up on", r)
		}
	}
}

// TestPartitions: scontrol's partitions, their time limits in each of Slurm's forms, and the
// partition a job gets: the default, a named one, the longest of a list.
func TestPartitions(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"UNLIMITED": 0, "INFINITE": 0, "15": 15 * time.Minute, "90:30": 90*time.Minute + 30*time.Second,
		"00:15:00": 15 * time.Minute, "2-00": 48 * time.Hour, "1-02:03": 26*time.Hour + 3*time.Minute,
		"24855-00:00:00": MaxTime, "1-00:00:01": 24*time.Hour + time.Second,
	} {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "1:2:3:4", "-5", "1-", "1-a", "10:-1"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
	// As Slurm 22.05 prints them (trimmed).
	out := []byte("PartitionName=debug AllowGroups=ALL Default=YES DefaultTime=NONE MaxNodes=UNLIMITED MaxTime=UNLIMITED State=UP TotalCPUs=2\n" +
		"PartitionName=short AllowGroups=ALL Default=NO DefaultTime=NONE MaxNodes=UNLIMITED MaxTime=00:15:00 State=UP TotalCPUs=2\n" +
		"PartitionName=long Default=NO MaxTime=7-00:00:00 State=DOWN\n")
	parts, err := ParsePartitions(out)
	if err != nil || len(parts) != 3 || parts[1] != (Partition{"short", false, 15 * time.Minute, "UP"}) || !parts[0].Default || parts[0].MaxTime != 0 {
		t.Fatalf("ParsePartitions: %+v %v", parts, err)
	}
	for name, want := range map[string]string{"": "debug", "short": "short", "short,long": "long", "long,debug": "debug"} {
		if p, err := PickPartition(parts, name); err != nil || p.Name != want {
			t.Errorf("PickPartition(%q) = %s, %v; want %s", name, p.Name, err, want)
		}
	}
	if _, err := PickPartition(parts, "gpu"); err == nil || !strings.Contains(err.Error(), `no partition "gpu" (it has debug, short, long)`) {
		t.Errorf("unknown partition: %v", err)
	}
	if _, err := PickPartition(parts[1:], ""); err == nil || !strings.Contains(err.Error(), "no default partition") {
		t.Errorf("no default partition: %v", err)
	}
	if _, err := ParsePartitions([]byte("PartitionName=x MaxTime=soon\n")); err == nil {
		t.Error("a MaxTime that is none accepted")
	}
	c := Client{Exec: func(_ context.Context, argv []string) ([]byte, error) {
		if !slices.Equal(argv, PartitionArgs()) {
			t.Errorf("Partition ran %q", argv)
		}
		return out, nil
	}}
	if p, err := c.Partition(context.Background(), "short"); err != nil || p.MaxTime != 15*time.Minute {
		t.Errorf("Client.Partition: %+v %v", p, err)
	}
}
