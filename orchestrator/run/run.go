package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// Selection says which cells of the plan to run.
type Selection struct {
	Only     string          // a path.Match pattern over cell IDs; "" = all
	FailFast bool            // stop after the first failed cell
	Skip     map[string]bool // cell IDs that already have a result (resume)
}

// Run runs the selected cells in plan order, writing cells/<cell>.json after each, and
// returns their results. A failed cell does not stop the run unless sel.FailFast.
func (r *Runner) Run(ctx context.Context, cells []plan.Cell, sel Selection) ([]*results.Cell, error) {
	var todo []plan.Cell
	for _, c := range cells {
		if sel.Only != "" {
			if ok, err := path.Match(sel.Only, c.ID); err != nil {
				return nil, fmt.Errorf("--only %q: %w", sel.Only, err)
			} else if !ok {
				continue
			}
		}
		if sel.Skip[c.ID] {
			continue
		}
		todo = append(todo, c)
	}
	var out []*results.Cell
	for i, c := range todo {
		if ctx.Err() != nil {
			break
		}
		r.Progress.Cell(i+1, len(todo), c.ID)
		res := r.RunCell(ctx, c)
		if ctx.Err() != nil && res.Status != results.StatusOK {
			// Interrupted: the cell did not fail, it was cut short. It gets no result, so
			// that --resume runs it again.
			r.Progress.CellDone(time.Duration(res.Wall*float64(time.Second)), fmt.Sprintf("%s INTERRUPTED, no result written: %s", c.ID, res.Error))
			break
		}
		if err := results.WriteCell(r.Dirs.Run, plan.FileName(c.ID), res, r.Meta); err != nil {
			return out, err
		}
		out = append(out, res)
		if res.Status != results.StatusOK {
			r.Progress.CellDone(time.Duration(res.Wall*float64(time.Second)), fmt.Sprintf("%s FAILED: %s", c.ID, res.Error))
			if sel.FailFast {
				break
			}
		} else {
			r.Progress.CellDone(time.Duration(res.Wall*float64(time.Second)), fmt.Sprintf("%s ok: total %.1fs, wall %.1fs", c.ID, res.Total, res.Wall))
		}
	}
	r.Progress.Close()
	os.Remove(filepath.Join(r.Dirs.Run, "work")) // only when empty: every cell cleans up its own
	return out, ctx.Err()
}

// DefaultOut is the run directory used when none is given: results/runs/<spec>/<run id>,
// the id being the start time.
func DefaultOut(name string, now time.Time) string {
	return filepath.Join("results", "runs", name, now.Format("20060102-150405"))
}

// PrepareOut creates the run directory and copies the spec into it. It refuses a directory
// that already holds results (ErrHoldsRun), so finished results are never overwritten;
// resume a run with --resume instead. Of two runs preparing one directory at once, one
// gets ErrHoldsRun.
//
// Deprecated: OpenOut also locks the directory, takes one left by an early exit and refuses
// one that is not a run directory.
func PrepareOut(dir, specFile string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(dir, "cells"), 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s %w; choose another -o, or continue it with --resume %s", dir, ErrHoldsRun, dir)
		}
		return err
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, "spec.yaml"), data)
}
