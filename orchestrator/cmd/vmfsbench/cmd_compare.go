package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vmfsbench/vmfsbench/results"
)

// cmdCompare compares a run with a reference CSV (ratios to the fastest and ranking, and
// both sides' ratios to the baseline method, the run's with its interval) or with another run (change of each group's median total and whether it is beyond noise).
func cmdCompare(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", stderr)
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	baseline := fs.String("baseline", results.DefaultBaseline, "the `METHOD` the ratios to the reference divide by, and paired with test by test")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return badArgs(fs)
	}
	a, err := loadRun(pos[0])
	if err != nil {
		return err
	}
	warnings := results.Unreadable(pos[0], a)
	fi, err := os.Stat(pos[1])
	if err != nil {
		return usageError{err}
	}
	if !fi.IsDir() {
		ref, err := results.ReadReference(pos[1])
		if err != nil {
			return usageError{err}
		}
		tables := results.CompareReference(a, ref, *baseline)
		if len(tables) == 0 {
			return usagef("%s and %s have no cache state in common (the run has %s)", pos[0], pos[1], strings.Join(a.Caches(), ", "))
		}
		if *asJSON {
			return warned(stderr, warnings, writeJSON(stdout, tables))
		}
		return warned(stderr, warnings, results.WriteRankText(stdout, tables))
	}
	b, err := loadRun(pos[1])
	if err != nil {
		return err
	}
	warnings = append(warnings, results.Unreadable(pos[1], b)...)
	warnings = append(warnings, results.Incomparable(pos[0], pos[1], a, b)...)
	changes, onlyA, onlyB := results.CompareRuns(a, b)
	if len(changes) == 0 {
		return usagef("%s and %s have no cell group in common", pos[0], pos[1])
	}
	if *asJSON {
		return warned(stderr, warnings, writeJSON(stdout, struct {
			Changes  []results.Change `json:"changes"`
			OnlyA    []string         `json:"only_a"`
			OnlyB    []string         `json:"only_b"`
			Warnings []string         `json:"warnings,omitempty"`
		}{changes, onlyA, onlyB, warnings}))
	}
	return warned(stderr, warnings, results.WriteChangesText(stdout, changes, onlyA, onlyB, pos[0], pos[1]))
}

// compareWarned ends a comparison that was printed with warnings: exit 1, as for failed
// cells, since its figures may not mean what they seem to.
type compareWarned int

func (n compareWarned) Error() string {
	return fmt.Sprintf("%d warning(s) above: the comparison may not hold", int(n))
}

func (compareWarned) Is(target error) bool { return target == errCellsFailed }

// warned prints the warnings once the comparison is written (err is the writing's error).
func warned(stderr io.Writer, warnings []string, err error) error {
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "vmfsbench compare: warning: %s\n", w)
	}
	if len(warnings) > 0 {
		return compareWarned(len(warnings))
	}
	return nil
}

// loadRun summarizes the cells of a run directory; a directory without cells is bad input.
func loadRun(dir string) (*results.Summary, error) {
	s, err := results.LoadSummary(dir)
	if err != nil {
		return nil, usageError{err}
	}
	if len(s.Cells) == 0 {
		return nil, usagef("%s holds no cell results", dir)
	}
	return s, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
