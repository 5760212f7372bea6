package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/vmfsbench/vmfsbench/results"
)

// cmdReport regenerates a run directory's summary, report and chart from its cells.
func cmdReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	ref := fs.String("reference", "", "reference `CSV` to compare with (default: the spec's, recorded in run.json)")
	baseline := fs.String("baseline", results.DefaultBaseline, "the `METHOD` every other is paired with test by test and divided by in the comparison with the reference")
	byHost := fs.Bool("by-host", false, "split the statistics by the node each cell ran on (a sharded run's cells may run on several)")
	dirs, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		return badArgs(fs)
	}
	dir := dirs[0]
	// Refuse a directory without cells before writing anything into it.
	run, err := results.ReadRun(dir)
	if err != nil {
		return usageError{err}
	}
	if len(run.Cells) == 0 {
		return usagef("%s holds no cell results (%s/*.json)", dir, filepath.Join(dir, results.CellsDir))
	}
	s, err := results.Regenerate(dir, results.RegenerateOptions{Reference: *ref, ByHost: *byHost, Baseline: *baseline})
	if err != nil {
		return usageError{err}
	}
	for _, sk := range s.Skipped {
		fmt.Fprintf(stderr, "vmfsbench report: skipped %s\n", sk)
	}
	ok := 0
	for _, c := range s.Cells {
		if c.Status == results.StatusOK {
			ok++
		}
	}
	fmt.Fprintf(stdout, "%d cells (%d ok, %d failed) in %d groups\n", len(s.Cells), ok, len(s.Cells)-ok, len(s.Groups))
	for _, f := range []string{results.ReportFile, results.ChartFile, results.SummaryCSVFile, results.SummaryJSON} {
		fmt.Fprintln(stdout, filepath.Join(dir, f))
	}
	return nil
}
