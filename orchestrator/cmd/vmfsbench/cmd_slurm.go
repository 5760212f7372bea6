package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/run"
	"github.com/vmfsbench/vmfsbench/orchestrator/slurm"
	"github.com/vmfsbench/vmfsbench/results"
)

// slurmRecord is DIR/slurm.json: how the run was split and what was submitted, so that
// --resume splits it alike.
type slurmRecord struct {
	Tasks int              `json:"tasks"`
	Spec  string           `json:"spec"`
	Jobs  []slurmSubmitted `json:"jobs"`
}

type slurmSubmitted struct {
	Array  string    `json:"array"`  // the job array's id
	Report string    `json:"report"` // the report job's id
	Tasks  string    `json:"tasks"`  // the shards submitted, as --array writes them
	At     time.Time `json:"submitted"`
}

const slurmRecordFile = "slurm.json"

// slurmClient is what cmdSlurm submits through; tests set its Poll.
var slurmClient = slurm.Client{}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, " ") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func cmdSlurm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("slurm", stderr)
	out := fs.String("o", "", "the run directory `DIR`, on a filesystem every node mounts (default results/runs/<spec name>/<start time>)")
	resume := fs.String("resume", "", "submit only the cells of the run in `DIR` without a result")
	tasks := fs.Int("tasks", 0, "split the cells into `N` shards, one job array task each (default: one per cell; on resume, as the run was split)")
	partition := fs.String("partition", "", "the Slurm `PARTITION` (default: the cluster's)")
	limitArg := fs.String("time", "", "each task's time limit `T`, e.g. 90m or 2h (default: the spec's boot and workload timeouts and a margin, per cell of the task)")
	var extra stringsFlag
	fs.Var(&extra, "sbatch-arg", "one more sbatch option `ARG` for both jobs, e.g. --account=A; repeatable")
	wait := fs.Bool("wait", false, "wait for the jobs and exit with the run's status")
	verify := fs.Bool("verify", false, "have each task run its cells with run --verify")
	failFast := failureFlags(fs)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) > 1 || (len(files) == 0 && *resume == "") || (*resume != "" && *out != "") || *tasks < 0 {
		return badArgs(fs)
	}
	var limit time.Duration
	if *limitArg != "" {
		if limit, err = time.ParseDuration(*limitArg); err != nil || limit <= 0 {
			return badArgsError{fs, fmt.Errorf("--time %q: want a duration such as 90m or 2h", *limitArg)}
		}
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return usagef("sbatch is not installed here (Debian: slurm-client): vmfsbench slurm submits the run through Slurm; run it where jobs can be submitted, or run the shards yourself with vmfsbench run --shard I/N")
	}
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		return usagef("the path of vmfsbench itself, which the nodes run: %v", err)
	}

	// The spec and the run directory, checked before anything is submitted.
	var dir, specFile string
	var rec slurmRecord
	if *resume != "" {
		if dir, err = filepath.Abs(*resume); err != nil {
			return usageError{err}
		}
		readJSON(filepath.Join(dir, slurmRecordFile), &rec)
		switch {
		case len(files) == 1:
			specFile = files[0]
		case rec.Spec != "":
			specFile = rec.Spec
		default:
			if m, err := results.ReadRunMeta(dir); err == nil && m.SpecFile != "" {
				specFile = m.SpecFile
			} else {
				specFile = filepath.Join(dir, results.SpecFile)
			}
		}
	} else {
		specFile = files[0]
	}
	if specFile, err = filepath.Abs(specFile); err != nil {
		return usageError{err}
	}
	e, err := loadSpec(specFile, stderr)
	if err != nil {
		return err
	}
	cells, err := plan.Cells(e)
	if err != nil {
		return usageError{err}
	}
	// One submission at a time per run directory: it stays locked from here until the job
	// array is submitted and recorded in slurm.json, and a directory whose recorded jobs are
	// still queued is refused, here and again under the lock.
	var od *run.OutDir
	defer func() { od.Close() }()
	done := map[string]*results.Cell{}
	if *resume != "" {
		// The run's jobs must be over, its spec the same; it may have been started by run.
		if err := slurmJobsGone(ctx, dir); err != nil {
			return usageError{err}
		}
		if od, err = run.OpenOut(dir, specFile, true); err != nil {
			return usagef("--resume %s: %v", dir, err)
		}
		if err := slurmJobsGone(ctx, dir); err != nil {
			return usageError{err}
		}
		readJSON(filepath.Join(dir, slurmRecordFile), &rec)
		done = od.Done
		if *tasks == 0 {
			*tasks = rec.Tasks
		}
	} else if dir, err = runDir(*out, e); err != nil {
		return err
	}
	if *tasks == 0 {
		*tasks = len(cells)
	}
	*tasks = min(*tasks, len(cells))

	// The shards with cells still to run, and the largest, which sets the time limit.
	var todo []int
	most := 0
	for i := range *tasks {
		n := 0
		for _, c := range (run.Shard{Index: i, Count: *tasks}).Cells(cells) {
			if done[c.ID] == nil {
				n++
			}
		}
		if n > 0 {
			todo = append(todo, i)
			most = max(most, n)
		}
	}
	if len(todo) == 0 {
		fmt.Fprintf(stdout, "every cell of %s has a result: nothing to submit\n", dir)
		return slurmStatus(dir, cells, nil)
	}
	job := slurm.Job{
		Binary: self, Spec: specFile, Dir: dir, Name: "vmfsbench-" + e.Name, Tasks: *tasks, Array: todo,
		Time: limit, Partition: *partition, Extra: extra,
	}
	if job.Time == 0 {
		job.Time = slurm.TaskTime(most, e.QEMU.BootTimeout, e.Workload.Timeout)
	}
	if *verify {
		job.RunArgs = append(job.RunArgs, "--verify")
	}
	if *failFast {
		job.RunArgs = append(job.RunArgs, "--fail-fast")
	}
	if err := job.Check(); err != nil {
		return usageError{err}
	}
	if err := checkPartition(ctx, job, most, *limitArg != ""); err != nil {
		return usageError{err}
	}
	if *resume == "" {
		if od, err = openSubmission(ctx, dir, specFile); err != nil {
			return usageError{err}
		}
	}
	sharedNote(stderr, dir)
	if err := os.MkdirAll(filepath.Join(dir, slurm.LogDir), 0o755); err != nil {
		return usageError{err}
	}
	arrayScript, reportScript := filepath.Join(dir, slurm.ArrayScript), filepath.Join(dir, slurm.ReportScript)
	if err := results.WriteFileAtomic(arrayScript, []byte(job.Script())); err != nil {
		return usageError{err}
	}
	if err := results.WriteFileAtomic(reportScript, []byte(job.ReportScriptText())); err != nil {
		return usageError{err}
	}
	// What was written before this submission, to tell afterwards whether its report job
	// wrote a report.
	before, _ := os.Stat(filepath.Join(dir, results.ReportFile))

	arrayID, err := slurmClient.Submit(ctx, slurm.SubmitArgs(arrayScript))
	if err != nil {
		return usageError{err}
	}
	rec.Tasks, rec.Spec = *tasks, specFile
	rec.Jobs = append(rec.Jobs, slurmSubmitted{Array: arrayID, Tasks: slurm.ArraySpec(todo), At: time.Now().UTC()})
	if err := results.WriteJSON(filepath.Join(dir, slurmRecordFile), rec); err != nil {
		fmt.Fprintf(stderr, "vmfsbench slurm: %v (the job array %s is submitted; no other submission into %s can see it)\n", err, arrayID, dir)
	}
	// Recorded: the tasks, which share the directory, may start.
	od.Close()
	reportID, err := slurmClient.Submit(ctx, slurm.ReportArgs(reportScript, arrayID))
	if err != nil {
		return usagef("the job array %s is submitted, but not its report (run vmfsbench report %s once it is done): %v", arrayID, dir, err)
	}
	rec.Jobs[len(rec.Jobs)-1].Report = reportID
	if err := results.WriteJSON(filepath.Join(dir, slurmRecordFile), rec); err != nil {
		fmt.Fprintf(stderr, "vmfsbench slurm: %v\n", err)
	}
	missing := len(cells) - len(done)
	fmt.Fprintf(stdout, "job array %s: tasks %s of %d shards, %d cells, time limit %s each\n", arrayID, slurm.ArraySpec(todo), *tasks, missing, slurm.FormatTime(job.Time))
	fmt.Fprintf(stdout, "report job %s: vmfsbench report %s, after every task of %s\n", reportID, dir, arrayID)
	fmt.Fprintf(stdout, "follow them: squeue -j %s,%s\n", arrayID, reportID)
	fmt.Fprintf(stdout, "task output: %s\n", filepath.Join(dir, slurm.LogDir, arrayID+"_*.out"))
	if !*wait {
		fmt.Fprintf(stdout, "results in %s; if a task fails: vmfsbench slurm --resume %s\n", dir, dir)
		return nil
	}
	final, err := slurmClient.Wait(ctx, []string{arrayID, reportID}, func(t slurm.Task) {
		if t.State == "PENDING" {
			fmt.Fprintf(stderr, "vmfsbench slurm: job %s %s (%s)\n", t.ID, t.State, t.Reason)
			return
		}
		fmt.Fprintf(stderr, "vmfsbench slurm: job %s %s\n", t.ID, t.State)
	})
	var pending *slurm.PendingError
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: stopped waiting; the jobs go on: squeue -j %s,%s", errCellsFailed, arrayID, reportID)
	case errors.As(err, &pending):
		return fmt.Errorf("%w: the tasks cannot start: %v%s; the jobs stay in the queue: scancel %s %s, then submit again (vmfsbench slurm --resume %s)",
			errCellsFailed, err, pendingHint(ctx, pending.Task.Reason, job), arrayID, reportID, dir)
	case err != nil:
		return usageError{err}
	}
	var bad []string
	for _, t := range final {
		if t.State != "COMPLETED" {
			bad = append(bad, t.ID+" "+t.State)
		}
	}
	fmt.Fprintf(stdout, "results in %s\n", dir)
	if after, err := os.Stat(filepath.Join(dir, results.ReportFile)); err == nil && (before == nil || !os.SameFile(before, after)) {
		fmt.Fprintf(stdout, "report    %s\n", filepath.Join(dir, results.ReportFile))
	} else {
		fmt.Fprintf(stderr, "vmfsbench slurm: the report job %s wrote no report (its output: %s); once the cells are there: vmfsbench report %s\n",
			reportID, filepath.Join(dir, slurm.LogDir, "report-"+reportID+".out"), dir)
	}
	return slurmStatus(dir, cells, bad)
}

// checkPartition refuses a job whose tasks' time limit is longer than its partition's
// MaxTime: Slurm would take the array and leave it pending for good (PartitionTimeLimit).
func checkPartition(ctx context.Context, job slurm.Job, most int, given bool) error {
	p, err := slurmClient.Partition(ctx, job.Partition)
	if err != nil {
		return err
	}
	if p.MaxTime == 0 || job.Time <= p.MaxTime {
		return nil
	}
	why := fmt.Sprintf("the spec's boot and workload timeouts with margins for a task of %d cells", most)
	if given {
		why = "--time"
	}
	return fmt.Errorf("each task's time limit, %s (%s), is longer than partition %s allows (MaxTime %s): Slurm would leave the array pending for good; "+
		"choose another --partition, split the cells over more --tasks, or give a --time within it", slurm.FormatTime(job.Time), why, p.Name, slurm.FormatTime(p.MaxTime))
}

// pendingHint says more of why a job pends for reason: for a time limit, the partition's
// limit now against the tasks'.
func pendingHint(ctx context.Context, reason string, job slurm.Job) string {
	if reason != "PartitionTimeLimit" {
		return ""
	}
	p, err := slurmClient.Partition(ctx, job.Partition)
	if err != nil || p.MaxTime == 0 {
		return ""
	}
	return fmt.Sprintf(" (the tasks' time limit is %s; partition %s's MaxTime is now %s)", slurm.FormatTime(job.Time), p.Name, slurm.FormatTime(p.MaxTime))
}

// openSubmission opens dir for a new submission of specFile, locked until Close: a directory
// that does not exist or is empty becomes a run directory, and a run directory without
// finished cells is taken once no job of an earlier submission into it is queued, which is
// checked again under its lock before anything in it changes.
func openSubmission(ctx context.Context, dir, specFile string) (*run.OutDir, error) {
	// Before the lock too: the tasks of a running array hold the directory, and the error
	// names their jobs.
	if err := slurmJobsGone(ctx, dir); err != nil {
		return nil, err
	}
	od, err := run.OpenOut(dir, "", true)
	if errors.Is(err, run.ErrLocked) {
		return nil, err
	}
	if err != nil { // not a run directory (yet), or one that does not resume: as a run takes it
		return run.OpenOut(dir, specFile, false)
	}
	if err := slurmJobsGone(ctx, dir); err != nil {
		od.Close()
		return nil, err
	}
	if err := od.Renew(specFile); err != nil {
		od.Close()
		return nil, err
	}
	return od, nil
}

// slurmStatus is the run's status once its jobs are over: every cell ok, or the cells
// missing or failed, with the tasks that did not complete.
func slurmStatus(dir string, cells []plan.Cell, badTasks []string) error {
	done, err := results.FinishedCells(dir)
	if err != nil {
		return usageError{err}
	}
	var missing, failed int
	for _, c := range cells {
		switch r := done[c.ID]; {
		case r == nil:
			missing++
		case r.Status != results.StatusOK:
			failed++
		}
	}
	if missing == 0 && failed == 0 {
		return nil
	}
	var parts []string
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d cells failed", failed, len(cells)))
	}
	if missing > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d cells have no result", missing, len(cells)))
	}
	msg := strings.Join(parts, ", ")
	if len(badTasks) > 0 {
		msg += " (tasks not completed: " + strings.Join(badTasks, ", ") + ")"
	}
	if missing > 0 {
		msg += "; submit the missing ones with: vmfsbench slurm --resume " + dir
	}
	return fmt.Errorf("%w: %s", errCellsFailed, msg)
}

// slurmJobsGone refuses a submission into dir while a job submitted into it (slurm.json) is
// still queued, naming the jobs.
func slurmJobsGone(ctx context.Context, dir string) error {
	var rec slurmRecord
	readJSON(filepath.Join(dir, slurmRecordFile), &rec)
	var ids []string
	for _, j := range rec.Jobs {
		ids = append(ids, j.Array)
		if j.Report != "" {
			ids = append(ids, j.Report)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	queued, err := slurmClient.Queued(ctx, ids)
	if err != nil {
		return err
	}
	if len(queued) == 0 {
		return nil
	}
	var s, cancel []string
	for _, id := range ids { // in the order submitted
		for _, t := range queued {
			if job, _, _ := strings.Cut(t.ID, "_"); job == id {
				s = append(s, t.ID+" "+t.State)
				if !slices.Contains(cancel, id) {
					cancel = append(cancel, id)
				}
			}
		}
	}
	return fmt.Errorf("%s has a Slurm submission still in the queue (jobs %s): one submission at a time per run directory; wait for its jobs to end, or cancel them first: scancel %s",
		dir, strings.Join(s, ", "), strings.Join(cancel, " "))
}

// sharedNote says on which filesystem DIR is: the nodes must all mount it, which cannot be
// proved from one node.
func sharedNote(w io.Writer, dir string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return
	}
	kind, shared := fsKind(int64(st.Type))
	if shared {
		fmt.Fprintf(w, "note: %s is on %s: every node must mount it at this same path\n", dir, kind)
		return
	}
	fmt.Fprintf(w, "note: %s is on a local filesystem (%s): the tasks write their cells there, so unless every node mounts it at this same path, run only on this node or choose a shared -o\n", dir, kind)
}

// fsKind names a statfs filesystem type and says whether it is one that nodes share.
func fsKind(t int64) (string, bool) {
	switch t {
	case unix.NFS_SUPER_MAGIC:
		return "NFS", true
	case 0x0bd00bd0:
		return "Lustre", true
	case 0x47504653:
		return "GPFS", true
	case unix.CEPH_SUPER_MAGIC:
		return "CephFS", true
	case 0x19830326:
		return "BeeGFS", true
	case unix.SMB_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC:
		return "SMB", true
	case unix.FUSE_SUPER_MAGIC:
		return "a FUSE filesystem", true
	case unix.TMPFS_MAGIC:
		return "tmpfs", false
	case unix.EXT4_SUPER_MAGIC:
		return "ext4", false
	case unix.XFS_SUPER_MAGIC:
		return "XFS", false
	case unix.BTRFS_SUPER_MAGIC:
		return "Btrfs", false
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs", false
	}
	return fmt.Sprintf("filesystem type %#x", t), false
}

// readJSON reads a JSON file into v; a missing or bad file leaves v as it was.
func readJSON(path string, v any) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	_ = json.Unmarshal(data, v)
}
