package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/run"
	"github.com/vmfsbench/vmfsbench/results"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	out := fs.String("o", "", "run directory (default results/runs/<spec name>/<start time>)")
	only := fs.String("only", "", "run only the cells whose ID matches this glob")
	failFast := fs.Bool("fail-fast", false, "stop at the first failed cell")
	verify := fs.Bool("verify", false, "after each workload, have the guest check owners and writability")
	fs.Bool("keep-going", true, "run the remaining cells after a failure (the default)")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("usage: vmfsbench run SPEC [-o DIR] [--only GLOB] [--fail-fast]")
	}
	e, err := loadSpec(files[0], stderr)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = run.DefaultOut(e.Name, time.Now())
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return usageError{err}
	}
	if err := run.PrepareOut(dir, files[0]); err != nil {
		return usageError{err}
	}
	r, err := run.New(ctx, e, run.Options{Out: dir, Progress: stderr, Digest: e.Workload.Builtin == "read-all"})
	if err != nil {
		return usageError{err}
	}
	defer r.Close()
	r.Verify = *verify
	cells, err := plan.Expand(e, r.Paths)
	if err != nil {
		return usageError{err}
	}
	res, err := r.Run(ctx, cells, run.Selection{Only: *only, FailFast: *failFast})
	writeTable(stdout, res)
	fmt.Fprintf(stdout, "results in %s\n", dir)
	if err != nil {
		return fmt.Errorf("%w (%v)", errCellsFailed, err)
	}
	for _, c := range res {
		if c.Status != results.StatusOK {
			return errCellsFailed
		}
	}
	return nil
}

// writeTable prints one line per cell with its phases in seconds.
func writeTable(w io.Writer, cells []*results.Cell) {
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
