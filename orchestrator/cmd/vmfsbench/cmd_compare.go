package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"

	"github.com/vmfsbench/vmfsbench/results"
)

// cmdCompare compares a run with a reference CSV (ratios to the fastest and ranking) or with
// another run (change of each group's median total and whether it is beyond noise).
func cmdCompare(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", stderr)
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
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
	fi, err := os.Stat(pos[1])
	if err != nil {
		return usageError{err}
	}
	if !fi.IsDir() {
		ref, err := results.ReadReference(pos[1])
		if err != nil {
			return usageError{err}
		}
		tables := results.CompareReference(a, ref)
		if len(tables) == 0 {
			return usagef("%s and %s have no cache state in common (the run has %s)", pos[0], pos[1], strings.Join(a.Caches(), ", "))
		}
		if *asJSON {
			return writeJSON(stdout, tables)
		}
		return results.WriteRankText(stdout, tables)
	}
	b, err := loadRun(pos[1])
	if err != nil {
		return err
	}
	changes, onlyA, onlyB := results.CompareRuns(a, b)
	if len(changes) == 0 {
		return usagef("%s and %s have no cell group in common", pos[0], pos[1])
	}
	if *asJSON {
		return writeJSON(stdout, struct {
			Changes []results.Change `json:"changes"`
			OnlyA   []string         `json:"only_a"`
			OnlyB   []string         `json:"only_b"`
		}{changes, onlyA, onlyB})
	}
	return results.WriteChangesText(stdout, changes, onlyA, onlyB, pos[0], pos[1])
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
