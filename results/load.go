package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CellsDir is the directory of a run that holds one JSON and one CSV file per cell.
const CellsDir = "cells"

// Run is a run directory as read back: its metadata and its cells.
type Run struct {
	Dir   string
	Meta  *Meta   // nil when the run has no run.json
	Cells []*Cell // in the order they ran (by start time, then ID)
	// Files maps each cell's ID to its JSON file, relative to Dir.
	Files map[string]string
	// Skipped lists the cell files that could not be read, each with the reason.
	Skipped []string
}

// ReadCell reads one cell JSON file, and the per-test results file it names. A file that does not hold a whole cell (truncated, not
// JSON, no ID or an unknown status) is an error.
func ReadCell(path string) (*Cell, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Cell
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.ID == "" {
		return nil, fmt.Errorf("%s: no cell id", path)
	}
	if c.Status != StatusOK && c.Status != StatusFailed && c.Status != StatusError {
		return nil, fmt.Errorf("%s: cell %s has status %q, want %s, %s or %s", path, c.ID, c.Status, StatusOK, StatusFailed, StatusError)
	}
	if c.Group == "" {
		c.Group = groupOf(c.ID)
	}
	if err := loadLitTests(&c, path); err != nil {
		c.Warnings = append(c.Warnings, "lit's per-test results unreadable: "+err.Error())
	}
	return &c, nil
}

// groupOf is a cell ID without its /rN repetition suffix.
func groupOf(id string) string {
	if i := strings.LastIndex(id, "/r"); i >= 0 {
		return id[:i]
	}
	return id
}

// ReadRun reads DIR/run.json (when present) and every DIR/cells/*.json. Files that are not
// whole cells are listed in Skipped rather than failing the read: a run killed mid-write
// leaves only a temporary file, which is not named *.json, but a cell file edited or
// truncated by hand should not hide every other result. Two files with the same cell ID are
// an error.
func ReadRun(dir string) (*Run, error) {
	r := &Run{Dir: dir, Files: map[string]string{}}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("read run: %s is not a directory", dir)
	}
	if r.Meta, err = ReadRunMeta(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(dir, CellsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read run: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		rel := filepath.Join(CellsDir, name)
		full := filepath.Join(dir, rel)
		c, err := ReadCell(full)
		if err != nil {
			r.Skipped = append(r.Skipped, rel+": "+strings.TrimPrefix(err.Error(), full+": "))
			continue
		}
		if prev, dup := r.Files[c.ID]; dup {
			return nil, fmt.Errorf("read run: %s and %s both hold cell %s", filepath.Join(dir, prev), filepath.Join(dir, rel), c.ID)
		}
		r.Files[c.ID] = rel
		r.Cells = append(r.Cells, c)
	}
	slices.SortStableFunc(r.Cells, func(a, b *Cell) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return r, nil
}

// FinishedCells returns the cells of the run in dir that need not run again on resume, keyed
// by cell ID: those whose JSON file is complete and whose status is ok or failed. Temporary
// files of an interrupted write are ignored, and so are unreadable cell files (their cells
// run again). A run without a cells directory has none.
func FinishedCells(dir string) (map[string]*Cell, error) {
	r, err := ReadRun(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Cell, len(r.Cells))
	for _, c := range r.Cells {
		out[c.ID] = c
	}
	return out, nil
}

// Duration is the time from the first cell's start to the last cell's end, or the run's own
// start and end when run.json has them.
func (r *Run) Duration() time.Duration {
	if r.Meta != nil && !r.Meta.Start.IsZero() && !r.Meta.End.IsZero() {
		return r.Meta.End.Sub(r.Meta.Start)
	}
	var first, last time.Time
	for _, c := range r.Cells {
		if first.IsZero() || c.Start.Before(first) {
			first = c.Start
		}
		if c.End.After(last) {
			last = c.End
		}
	}
	if first.IsZero() || last.IsZero() {
		return 0
	}
	return last.Sub(first)
}
