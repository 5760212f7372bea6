// Package slurm spreads a run's cells over a Slurm cluster through Slurm itself: it writes the
// batch scripts of a job array whose task I runs `vmfsbench run --shard I/N` into a shared
// run directory, and of a report job that depends on it; submits them with sbatch; and follows
// them with squeue and scontrol.
package slurm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Job is a run's job array and its report job.
type Job struct {
	Binary    string        // vmfsbench, absolute: the nodes run it
	Spec      string        // the spec, absolute
	Dir       string        // the run directory, absolute, on a filesystem the nodes share
	Name      string        // the job name
	Tasks     int           // N: the run's cells are split into N shards
	Array     []int         // the shards to submit: every one, or on resume those with missing cells
	Time      time.Duration // the time limit of each task
	Partition string        // "" = the cluster's default
	Extra     []string      // more sbatch options, each as given (--account=A, --constraint=C, ...)
	RunArgs   []string      // more arguments of `vmfsbench run` (--verify, --fail-fast)
}

// LogDir is where the tasks' and the report's output goes, under the run directory.
const LogDir = "slurm"

// Script files written into the run directory.
const (
	ArrayScript  = "slurm.sbatch"
	ReportScript = "slurm-report.sbatch"
)

// ReportTime is the report job's time limit, unless the tasks' is shorter.
const ReportTime = 30 * time.Minute

// ReportTime is the report job's time limit: ReportTime, or the tasks' limit when that is
// shorter, so that the report fits in whatever partition the tasks fit in.
func (j Job) ReportTime() time.Duration {
	if j.Time > 0 && j.Time < ReportTime {
		return j.Time
	}
	return ReportTime
}

// MaxTime is the longest time limit vmfsbench asks of Slurm: Slurm 22.05 keeps a limit in
// seconds in 32 bits and turns a longer one into another limit without a word (measured:
// 24856 days became 2957761 days, 49711 days became 17 hours).
const MaxTime = 24855 * 24 * time.Hour

// ownOptions are the sbatch options vmfsbench writes itself: given again through Extra they
// would silently override its own (or, for the partition, escape the time limit's check).
var ownOptions = []string{"--array", "-a", "--time", "-t", "--partition", "-p", "--output", "-o",
	"--job-name", "-J", "--dependency", "-d"}

// Check refuses what a batch script cannot carry: a value with a control character (a newline
// would start a line of the script, which runs), paths with white space or %, which #SBATCH
// lines and Slurm's file name patterns would misread, an extra option that is no option or is
// one vmfsbench sets, a time limit Slurm cannot hold, and a job without tasks.
func (j Job) Check() error {
	for _, p := range []struct{ what, path string }{{"run directory", j.Dir}, {"spec", j.Spec}, {"vmfsbench binary", j.Binary}} {
		if !strings.HasPrefix(p.path, "/") {
			return fmt.Errorf("the %s %q must be an absolute path", p.what, p.path)
		}
		if strings.ContainsAny(p.path, " \t\n%'\"\\$`") {
			return fmt.Errorf("the %s %q holds white space, a quote or one of %%$\\`, which a batch script cannot carry; choose another path", p.what, p.path)
		}
	}
	type value struct{ what, v string }
	values := []value{{"run directory", j.Dir}, {"spec", j.Spec}, {"vmfsbench binary", j.Binary}, {"job name", j.Name}, {"partition", j.Partition}}
	for _, a := range j.Extra {
		values = append(values, value{"sbatch option", a})
	}
	for _, a := range j.RunArgs {
		values = append(values, value{"argument of vmfsbench run", a})
	}
	for _, v := range values {
		if i := strings.IndexFunc(v.v, isControl); i >= 0 {
			return fmt.Errorf("the %s %q holds the control character %U, which a batch script cannot carry (a newline would start a line of the script)", v.what, v.v, []rune(v.v[i:])[0])
		}
	}
	if strings.ContainsAny(j.Partition, " \t") {
		return fmt.Errorf("the partition %q holds white space", j.Partition)
	}
	for _, a := range j.Extra {
		if !strings.HasPrefix(a, "-") {
			return fmt.Errorf("the sbatch option %q is not an option: want one such as --account=A", a)
		}
		name, _, _ := strings.Cut(a, "=")
		name = strings.Fields(name)[0] // "--time 10"
		if len(name) > 2 && !strings.HasPrefix(name, "--") {
			name = name[:2] // -pshort
		}
		if slices.Contains(ownOptions, name) {
			return fmt.Errorf("the sbatch option %q is one vmfsbench writes itself; use vmfsbench slurm's own flag (--partition, --time) or leave it out", a)
		}
	}
	if j.Time <= 0 || j.Time > MaxTime {
		return fmt.Errorf("a task's time limit of %s is more than Slurm can hold (%s); split the cells over more --tasks or lower the spec's timeouts", FormatTime(j.Time), FormatTime(MaxTime))
	}
	if j.Tasks < 1 || len(j.Array) == 0 {
		return errors.New("no task to submit")
	}
	for _, i := range j.Array {
		if i < 0 || i >= j.Tasks {
			return fmt.Errorf("task %d is not one of 0..%d", i, j.Tasks-1)
		}
	}
	return nil
}

// isControl reports whether r is a control character (C0, DEL, C1) or a Unicode line or
// paragraph separator.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// Script is the job array's batch script: task I runs shard I/N of the run, resuming it, so
// that a task Slurm requeues, or runs again on resume, runs only its cells without a result.
// --exclusive gives each task a node of its own: no two cells share a page cache.
func (j Job) Script() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("#!/bin/bash\n")
	p("# The cells of %s in %d shards, one per task of a job array; written by vmfsbench slurm.\n", j.Spec, j.Tasks)
	p("# Task I runs shard I/%d into the shared run directory; the report job runs after the last.\n", j.Tasks)
	p("#SBATCH --job-name=%s\n", j.Name)
	p("#SBATCH --array=%s\n", ArraySpec(j.Array))
	p("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n")
	p("#SBATCH --exclusive\n")
	p("#SBATCH --time=%s\n", FormatTime(j.Time))
	p("#SBATCH --output=%s/%s/%%A_%%a.out\n", j.Dir, LogDir)
	if j.Partition != "" {
		p("#SBATCH --partition=%s\n", j.Partition)
	}
	for _, a := range j.Extra {
		p("#SBATCH %s\n", a)
	}
	p("set -eu\n")
	p("echo \"vmfsbench shard $SLURM_ARRAY_TASK_ID/%d on $(hostname), job $SLURM_JOB_ID\"\n", j.Tasks)
	argv := append([]string{j.Binary, "run", "--resume", j.Dir, j.Spec, "--shard", "$SLURM_ARRAY_TASK_ID/" + strconv.Itoa(j.Tasks)}, j.RunArgs...)
	p("exec %s\n", shellJoin(argv))
	return b.String()
}

// ReportScriptText is the report job's batch script: `vmfsbench report DIR`.
func (j Job) ReportScriptText() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("#!/bin/bash\n")
	p("# The report of the run in %s, once every task of its job array has ended; written by vmfsbench slurm.\n", j.Dir)
	p("#SBATCH --job-name=%s-report\n", j.Name)
	p("#SBATCH --nodes=1\n#SBATCH --ntasks=1\n")
	p("#SBATCH --time=%s\n", FormatTime(j.ReportTime()))
	p("#SBATCH --output=%s/%s/report-%%j.out\n", j.Dir, LogDir)
	if j.Partition != "" {
		p("#SBATCH --partition=%s\n", j.Partition)
	}
	for _, a := range j.Extra {
		p("#SBATCH %s\n", a)
	}
	p("exec %s\n", shellJoin([]string{j.Binary, "report", j.Dir}))
	return b.String()
}

// SubmitArgs is the sbatch command that submits the job array's script.
func SubmitArgs(script string) []string {
	return []string{"sbatch", "--parsable", script}
}

// ReportArgs is the sbatch command that submits the report's script to run once every task
// of the job array arrayID has ended, however it ended.
func ReportArgs(script, arrayID string) []string {
	return []string{"sbatch", "--parsable", "--dependency=afterany:" + arrayID, "--kill-on-invalid-dep=no", script}
}

// shellJoin quotes argv for bash; an argument holding $SLURM_ARRAY_TASK_ID is double-quoted
// so that the shell expands it.
func shellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		switch {
		case strings.Contains(a, "$SLURM_ARRAY_TASK_ID"):
			out[i] = `"` + a + `"`
		case a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "":
			out[i] = a
		default:
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// ArraySpec writes task indexes as sbatch --array does: ranges joined by commas, "0-3,5".
func ArraySpec(ids []int) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	s = slices.Compact(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// CellMargin is the time per cell on top of its boot and workload timeouts: preparing the
// cache, building an image, starting helpers, tearing down.
const CellMargin = 5 * time.Minute

// StartMargin is the time per task on top of its cells: probing the host, generating a
// synthetic tree, hashing the tree.
const StartMargin = 10 * time.Minute

// TaskTime is the time limit of a task of cells cells whose guests boot within boot and
// whose workload runs within workload: the most its cells can take, with margins. A sum
// beyond what a time.Duration holds is the largest one (which Check refuses).
func TaskTime(cells int, boot, workload time.Duration) time.Duration {
	per := boot + workload + CellMargin
	if boot < 0 || workload < 0 || per < boot || cells < 0 {
		return math.MaxInt64
	}
	if cells > 0 && per > (math.MaxInt64-StartMargin)/time.Duration(cells) {
		return math.MaxInt64
	}
	return StartMargin + time.Duration(cells)*per
}

// FormatTime writes d as sbatch --time wants it, rounded up to the minute: "D-HH:MM:SS".
func FormatTime(d time.Duration) string {
	m := int64(d / time.Minute)
	if d%time.Minute != 0 {
		m++
	}
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("%d-%02d:%02d:00", m/(24*60), m/60%24, m%60)
}

// ParseJobID reads the job id sbatch --parsable prints: "ID" or "ID;CLUSTER".
func ParseJobID(out []byte) (string, error) {
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 { // warnings come first
		line = strings.TrimSpace(line[i+1:])
	}
	id, _, _ := strings.Cut(line, ";")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", strings.TrimSpace(string(out)))
	}
	return id, nil
}

// ParseTime reads a time limit as Slurm writes one: "MM", "MM:SS", "HH:MM:SS", "D-HH",
// "D-HH:MM" or "D-HH:MM:SS"; "UNLIMITED" and "INFINITE" are 0, no limit.
func ParseTime(s string) (time.Duration, error) {
	if s == "UNLIMITED" || s == "INFINITE" {
		return 0, nil
	}
	bad := fmt.Errorf("%q is not a Slurm time limit", s)
	var days int64
	rest := s
	if d, r, ok := strings.Cut(s, "-"); ok {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil || n < 0 {
			return 0, bad
		}
		days, rest = n, r
	}
	var f []int64
	for _, p := range strings.Split(rest, ":") {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return 0, bad
		}
		f = append(f, n)
	}
	var h, m, sec int64
	switch {
	case len(f) > 3, strings.Contains(s, "-") && len(f) == 0:
		return 0, bad
	case strings.Contains(s, "-"): // D-HH[:MM[:SS]]
		h = f[0]
		if len(f) > 1 {
			m = f[1]
		}
		if len(f) > 2 {
			sec = f[2]
		}
	case len(f) == 3:
		h, m, sec = f[0], f[1], f[2]
	case len(f) == 2:
		m, sec = f[0], f[1]
	default:
		m = f[0]
	}
	return time.Duration(((days*24+h)*60+m)*60+sec) * time.Second, nil
}

// Partition is what vmfsbench needs to know of a Slurm partition.
type Partition struct {
	Name    string
	Default bool          // the partition of jobs that name none
	MaxTime time.Duration // 0: no limit
	State   string        // UP, DOWN, DRAIN, INACTIVE
}

// PartitionArgs shows every partition, one line each.
func PartitionArgs() []string {
	return []string{"scontrol", "--oneliner", "show", "partition"}
}

// ParsePartitions reads PartitionArgs' output.
func ParsePartitions(out []byte) ([]Partition, error) {
	var parts []Partition
	for _, kv := range records(out) {
		if kv["PartitionName"] == "" {
			return nil, fmt.Errorf("scontrol show partition: a line without PartitionName")
		}
		p := Partition{Name: kv["PartitionName"], Default: kv["Default"] == "YES", State: kv["State"]}
		var err error
		if p.MaxTime, err = ParseTime(kv["MaxTime"]); err != nil {
			return nil, fmt.Errorf("scontrol show partition %s: MaxTime: %w", p.Name, err)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// PickPartition is the partition of parts whose limits a job asking for name gets: the
// default partition for "", or of a list "a,b" (Slurm runs the job in whichever can) the
// one with the longest MaxTime.
func PickPartition(parts []Partition, name string) (Partition, error) {
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	if name == "" {
		for _, p := range parts {
			if p.Default {
				return p, nil
			}
		}
		return Partition{}, fmt.Errorf("the cluster has no default partition: name one with --partition (it has %s)", strings.Join(names, ", "))
	}
	var best Partition
	for i, n := range strings.Split(name, ",") {
		k := slices.Index(names, n)
		if k < 0 {
			return Partition{}, fmt.Errorf("the cluster has no partition %q (it has %s)", n, strings.Join(names, ", "))
		}
		if p := parts[k]; i == 0 || best.MaxTime != 0 && (p.MaxTime == 0 || p.MaxTime > best.MaxTime) {
			best = p
		}
	}
	return best, nil
}

// records reads scontrol --oneliner output: one map of Key=Value fields per non-empty line.
func records(out []byte) []map[string]string {
	var recs []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		recs = append(recs, kv)
	}
	return recs
}

// Task is a job, or a task of a job array, as squeue or scontrol shows it.
type Task struct {
	ID     string // "12", "12_3", or "12_[4-7]" for array tasks not yet started
	State  string // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
	Reason string // why it is in its state, as squeue says (Priority, Resources, ...); "None"
}

// SqueueArgs lists the jobs ids, one "ID STATE REASON" line each, no header.
func SqueueArgs(ids []string) []string {
	return []string{"squeue", "--noheader", "--jobs=" + strings.Join(ids, ","), "--format=%i %T %r"}
}

// ParseSqueue reads SqueueArgs' output.
func ParseSqueue(out []byte) ([]Task, error) {
	var tasks []Task
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("squeue line %q: want ID STATE REASON", sc.Text())
		}
		tasks = append(tasks, Task{ID: f[0], State: f[1], Reason: strings.Join(f[2:], " ")})
	}
	return tasks, nil
}

// NeverStarts reports whether a job pending for reason (squeue's) waits for good: only a
// change to the job or to the cluster's configuration lets it start, not the queue moving on.
func NeverStarts(reason string) bool {
	switch reason {
	case "PartitionTimeLimit", "PartitionNodeLimit", "PartitionConfig", "BadConstraints",
		"DependencyNeverSatisfied", "InvalidAccount", "InvalidQOS":
		return true
	}
	// A per-job limit of the association or QOS: AssocMaxWallDurationPerJobLimit, ...
	return (strings.HasPrefix(reason, "AssocMax") || strings.HasPrefix(reason, "QOSMax")) && strings.Contains(reason, "PerJob")
}

// PendingError is Wait's error for a task pending for a reason it never outlives
// (NeverStarts). The jobs stay in the queue.
type PendingError struct{ Task Task }

func (e *PendingError) Error() string {
	return fmt.Sprintf("job %s is pending for %s, which waiting does not change", e.Task.ID, e.Task.Reason)
}

// ScontrolArgs shows a job, one line per job or array task.
func ScontrolArgs(id string) []string {
	return []string{"scontrol", "--oneliner", "show", "job", id}
}

// ParseScontrol reads ScontrolArgs' output: each record's ArrayJobId_ArrayTaskId (or JobId)
// and JobState.
func ParseScontrol(out []byte) ([]Task, error) {
	var tasks []Task
	for _, kv := range records(out) {
		if kv["JobId"] == "" || kv["JobState"] == "" {
			return nil, fmt.Errorf("scontrol line without JobId and JobState")
		}
		t := Task{ID: kv["JobId"], State: kv["JobState"]}
		if a, i := kv["ArrayJobId"], kv["ArrayTaskId"]; a != "" && i != "" {
			t.ID = a + "_" + i
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// Exec runs a Slurm command and returns its standard output; an error carries its
// standard error.
type Exec func(ctx context.Context, argv []string) ([]byte, error)

// Run is the Exec that runs the command.
func Run(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
	}
	return out, nil
}

// Client submits and follows jobs.
type Client struct {
	Exec Exec          // nil = Run
	Poll time.Duration // between two looks at the queue; 0 = 5 s
}

func (c Client) exec(ctx context.Context, argv []string) ([]byte, error) {
	if c.Exec == nil {
		return Run(ctx, argv)
	}
	return c.Exec(ctx, argv)
}

// Submit runs an sbatch command (SubmitArgs, ReportArgs) and returns the job id.
func (c Client) Submit(ctx context.Context, argv []string) (string, error) {
	out, err := c.exec(ctx, argv)
	if err != nil {
		return "", err
	}
	return ParseJobID(out)
}

// Partition is the partition a job asking for name gets (see PickPartition), as scontrol
// shows it now.
func (c Client) Partition(ctx context.Context, name string) (Partition, error) {
	out, err := c.exec(ctx, PartitionArgs())
	if err != nil {
		return Partition{}, err
	}
	parts, err := ParsePartitions(out)
	if err != nil {
		return Partition{}, err
	}
	return PickPartition(parts, name)
}

// Queued lists what squeue shows of the jobs ids. A job Slurm has forgotten is not listed.
func (c Client) Queued(ctx context.Context, ids []string) ([]Task, error) {
	out, err := c.exec(ctx, SqueueArgs(ids))
	if err != nil {
		// squeue fails on a job id it no longer knows (all of them ended long ago).
		if strings.Contains(err.Error(), "Invalid job id") {
			return nil, nil
		}
		return nil, err
	}
	return ParseSqueue(out)
}

// Wait polls the queue until none of the jobs ids is in it, calling seen with each task
// whose state or reason changed, and returns the final state of each task as scontrol still
// knows it (nothing for a job it forgot). A task pending for a reason that waiting does not
// change (NeverStarts) ends the wait with a *PendingError.
func (c Client) Wait(ctx context.Context, ids []string, seen func(Task)) ([]Task, error) {
	poll := c.Poll
	if poll == 0 {
		poll = 5 * time.Second
	}
	last := map[string]string{}
	for {
		tasks, err := c.Queued(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			if last[t.ID] != t.State+" "+t.Reason && seen != nil {
				seen(t)
			}
			last[t.ID] = t.State + " " + t.Reason
		}
		for _, t := range tasks {
			if t.State == "PENDING" && NeverStarts(t.Reason) {
				return nil, &PendingError{t}
			}
		}
		if len(tasks) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
	var final []Task
	for _, id := range ids {
		out, err := c.exec(ctx, ScontrolArgs(id))
		if err != nil {
			continue // forgotten already
		}
		tasks, err := ParseScontrol(out)
		if err != nil {
			return nil, err
		}
		final = append(final, tasks...)
	}
	return final, nil
}
