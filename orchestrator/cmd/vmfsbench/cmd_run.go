package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/run"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/results"
)

// runUsage is the synopsis of cmdUsage for run (main_test.go checks); --help adds the flags.
const runUsage = "usage: vmfsbench run SPEC [flags]\n       vmfsbench run --resume DIR [SPEC] [flags]"

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	out := fs.String("o", "", "write the run into `DIR` (default results/runs/<spec name>/<start time>)")
	resume := fs.String("resume", "", "continue the run in `DIR`: run only the cells without a result")
	only := fs.String("only", "", "run only the cells whose ID matches `GLOB` (a * does not match a /)")
	failFast := failureFlags(fs)
	verify := fs.Bool("verify", false, "after each workload, have the guest check owners and writability")
	acceptTree := fs.Bool("accept-tree-change", false, "with --resume: go on although the tree changed since the run started (the report says so)")
	retryFailed := fs.Bool("retry-failed", false, "with --resume: run the failed cells again too (cells in status error always run again)")
	shardArg := fs.String("shard", "", "run only shard `I/N` of the cells (cell k is shard k mod N's); the shards share -o DIR; I may be $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) > 1 || (len(files) == 0 && *resume == "") || (*resume != "" && *out != "") {
		return usagef(runUsage)
	}
	var shard run.Shard
	if *shardArg != "" {
		if shard, err = run.ParseShard(*shardArg, os.Getenv); err != nil {
			return usageError{err}
		}
		if *resume == "" && *out == "" {
			return usagef("--shard needs -o DIR (or --resume DIR): the shards of a run share its directory")
		}
	}

	var dir, specFile string
	var old *results.Meta
	var skip map[string]bool
	var od *run.OutDir
	if *resume != "" {
		spec := ""
		if len(files) == 1 {
			spec = files[0]
		}
		if shard.Count > 0 {
			od, err = run.OpenShard(*resume, spec, true, shard)
		} else {
			od, err = run.OpenOut(*resume, spec, true)
		}
		if err != nil {
			return usagef("--resume %s: %v", *resume, err)
		}
		defer od.Close()
		dir, specFile, old = od.Dir, od.SpecFile, od.Meta // old is nil when there is no run.json
		if *only == "" && old != nil {
			*only = old.Only // the run's own selection, unless another is given
		}
		skip = run.ResumeSkip(od.Done, *retryFailed)
	} else {
		if *acceptTree || *retryFailed {
			return usagef("--accept-tree-change and --retry-failed go with --resume DIR")
		}
		specFile = files[0]
	}
	e, err := loadSpec(specFile, stderr)
	if err != nil {
		return err
	}
	// An --only that selects nothing, and then (after the host is probed, once) a missing
	// host tool, are found before anything is written or run.
	ids, err := plan.Cells(e)
	if err != nil {
		return usageError{err}
	}
	if *only != "" && !slices.ContainsFunc(ids, func(c plan.Cell) bool { ok, _ := path.Match(*only, c.ID); return ok }) {
		return usagef("--only %q matches no cell of %s (a * does not match a /; cell IDs look like %s)", *only, specFile, ids[0].ID)
	}
	// probe -> plan -> check -> run.
	progress := run.NewProgress(stderr)
	defer progress.Close()
	found, err := probe.Host(ctx, e, probe.Options{Logf: progress.Logf, Digest: e.Workload.Builtin == "read-all"})
	if err != nil {
		return usageError{err}
	}
	choices := plan.Choices{Verify: *verify}
	planned, err := plan.Expand(e, found.Host, plan.PlanDirs, choices)
	if err != nil {
		return usageError{err}
	}
	if err := probe.CheckTools(planned, *only, found.Host, e.Guest.Arch); err != nil {
		return usageError{err}
	}
	if dir == "" {
		if dir, err = runDir(*out, e); err != nil {
			return err
		}
		// The directory is made atomically with its marker and locked while the run uses
		// it. Two runs of one spec started within a second share a default directory: the
		// later one takes the next free suffix. Shards share theirs.
		if shard.Count > 0 {
			od, err = openShard(dir, specFile, shard, ids)
		} else {
			od, err = run.OpenOut(dir, specFile, false)
		}
		for i, base := 2, dir; *out == "" && (errors.Is(err, run.ErrHoldsRun) || errors.Is(err, run.ErrLocked)) && i < 100; i++ {
			dir = fmt.Sprintf("%s-%d", base, i)
			od, err = run.OpenOut(dir, specFile, false)
		}
		if err != nil {
			return usageError{err}
		}
		defer od.Close()
	}
	dirs, err := run.NewDirs(dir, found.Host.Tree)
	if err != nil {
		return usageError{err}
	}
	r := run.NewRunner(run.TreeOf(found), dirs, progress)
	defer r.Close()
	// The cells are checked against the tree as it is now, which must be the run's.
	change, err := r.AdoptTree(dir, *acceptTree)
	if err != nil {
		if errors.Is(err, run.ErrTreeChanged) {
			return usagef("%s: %v; the finished cells measured the tree as it was. Restore it, or go on with the changed tree with --accept-tree-change (the report then says so)", dir, err)
		}
		return usageError{err}
	}
	specAbs, _ := filepath.Abs(specFile)
	meta, err := results.CollectMeta(ctx, results.MetaOptions{Dir: dir, Spec: e.Name, SpecFile: specAbs,
		Reference: e.Reference, Arch: e.Guest.Arch, Accel: found.Host.Accel,
		AccelReason: found.Host.AccelReason, GuestKernel: found.Kernel.Version, Tools: toolVersions(found.Host.Tools), Scale: e.Workload.Scale})
	if err != nil {
		return usageError{err}
	}
	meta.Tree = r.TreeStamp()
	if old != nil {
		meta.Start = old.Start
		meta.Tree, meta.TreeChanges = cmp.Or(old.Tree, meta.Tree), old.TreeChanges
	}
	if change != nil {
		meta.TreeChanges = append(meta.TreeChanges, *change)
		fmt.Fprintf(stderr, "vmfsbench run: the tree changed since the run started (%d paths: %s); going on with it as told (--accept-tree-change)\n", change.Paths, change.Brief)
	}
	meta.Only = *only
	meta.AccelProbe = found.AccelProbe
	if shard.Count > 0 {
		// The first shard writes run.json; each cell records its own node.
		if _, err := run.WriteMetaOnce(dir, meta); err != nil {
			return usageError{err}
		}
	} else if err := results.WriteRunMeta(dir, meta); err != nil {
		return usageError{err}
	}
	r.Meta = meta
	// The cells run exactly as planned here, with the run's directories.
	cells, err := plan.Expand(e, found.Host, dirs, choices)
	if err != nil {
		return usageError{err}
	}
	res, runErr := r.Run(ctx, cells, run.Selection{Only: *only, FailFast: *failFast, Skip: skip, Shard: shard})

	// Whatever happened, the metadata gets its end time and the report covers every
	// finished cell. A shard leaves run.json as the first shard wrote it, and the end time
	// and the report to the shard that finds every cell done (or to `vmfsbench report`).
	report := true
	if shard.Count > 0 {
		done, _ := results.FinishedCells(dir)
		report = len(done) >= len(cells)
		if report {
			if err := endShardedRun(dir, done); err != nil {
				fmt.Fprintf(stderr, "vmfsbench run: %v\n", err)
			}
		}
	} else {
		meta.End = time.Now().UTC()
		if err := results.WriteRunMeta(dir, meta); err != nil {
			fmt.Fprintf(stderr, "vmfsbench run: %v\n", err)
		}
	}
	wrote := false // the report and chart, which are named below only when written
	if report {
		if _, err := results.Regenerate(dir, results.RegenerateOptions{}); err != nil {
			fmt.Fprintf(stderr, "vmfsbench run: no report written: %v; once that is mended: vmfsbench report %s\n", err, dir)
		} else {
			wrote = true
		}
	}
	writeTable(stdout, res)
	if skipped := countSkipped(shard.Cells(cells), skip); skipped > 0 {
		fmt.Fprintf(stdout, "%d cells already had results and were not run again\n", skipped)
	}
	if shard.Count > 0 {
		fmt.Fprintf(stdout, "shard %s: %d of the run's %d cells\n", shard, len(shard.Cells(cells)), len(cells))
		if !report {
			fmt.Fprintf(stdout, "other shards' cells are still missing; once they are done: vmfsbench report %s\n", dir)
		}
	}
	fmt.Fprintf(stdout, "results in %s\n", dir)
	if wrote {
		fmt.Fprintf(stdout, "report    %s\nchart     %s\n", filepath.Join(dir, results.ReportFile), filepath.Join(dir, results.ChartFile))
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("%w: interrupted; continue with: vmfsbench run --resume %s", errCellsFailed, dir)
		}
		return fmt.Errorf("%w (%v)", errCellsFailed, runErr)
	}
	for _, c := range res {
		if c.Status != results.StatusOK {
			return errCellsFailed
		}
	}
	// The exit code speaks for the run, not for this invocation alone: a resume that ran
	// nothing new still exits 1 while the run holds a cell that did not succeed.
	if done, err := results.FinishedCells(dir); err != nil {
		return err
	} else if n := notOK(done); n > 0 {
		return fmt.Errorf("%w: %d cells of the run in %s did not succeed; rerun them with --resume %s (--retry-failed for the failed ones)", errCellsFailed, n, dir, dir)
	}
	return nil
}

// notOK counts the cells whose status is not ok.
func notOK(done map[string]*results.Cell) int {
	n := 0
	for _, c := range done {
		if c.Status != results.StatusOK {
			n++
		}
	}
	return n
}

// openShard opens dir for a new shard's run, refusing one whose cells have results already.
func openShard(dir, specFile string, shard run.Shard, all []plan.Cell) (*run.OutDir, error) {
	od, err := run.OpenShard(dir, specFile, false, shard)
	if err != nil {
		return nil, err
	}
	if n := countSkipped(shard.Cells(all), od.Done); n > 0 {
		od.Discard()
		return nil, fmt.Errorf("%s %w: shard %s has %d finished cells; continue it with --resume %s --shard %s", dir, run.ErrHoldsRun, shard, n, dir, shard)
	}
	return od, nil
}

// countSkipped counts the cells that are in done.
func countSkipped[V any](cells []plan.Cell, done map[string]V) int {
	n := 0
	for _, c := range cells {
		if _, ok := done[c.ID]; ok {
			n++
		}
	}
	return n
}

// toolVersions are the versions of the tools the host probe found, results.NotFound for
// those it did not.
func toolVersions(found method.Found) results.Tools {
	out := results.Tools{}
	for name, t := range found {
		out[name] = t.Version
		if t.Err != nil || t.Path == "" {
			out[name] = results.NotFound
		}
	}
	return out
}

// writeTable prints one line per cell with its phases in seconds.
func writeTable(w io.Writer, cells []*results.Cell) {
	if len(cells) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cell\tstatus\tbuild\ttransfer\tboot\tmount\tworkload\ttotal\twall\t")
	for _, c := range cells {
		p := c.Phases
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", c.ID, c.Status,
			p["build"], p["transfer"], p["boot"], p["mount"], p["workload"], c.Total, c.Wall)
	}
	tw.Flush()
	for _, c := range cells {
		if c.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", c.ID, strings.ReplaceAll(c.Error, "\n", " "))
		}
	}
}

// runDir is the run directory a run or a Slurm submission writes: -o, or the default one under
// results/runs, made absolute and checked not to overlap the tree.
func runDir(out string, e *spec.Experiment) (string, error) {
	dir := out
	if dir == "" {
		dir = run.DefaultOut(e.Name, time.Now())
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", usageError{err}
	}
	if err := run.CheckOut(dir, e); err != nil {
		return "", usageError{err}
	}
	return dir, nil
}

// endShardedRun gives a sharded run's run.json its end time: that of its last cell, which
// every shard finding the run complete computes alike.
func endShardedRun(dir string, done map[string]*results.Cell) error {
	meta, err := results.ReadRunMeta(dir)
	if err != nil {
		return err
	}
	for _, c := range done {
		if c.End.After(meta.End) {
			meta.End = c.End
		}
	}
	return results.WriteRunMeta(dir, meta)
}
