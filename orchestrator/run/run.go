package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// Selection says which cells of the plan to run.
type Selection struct {
	Only     string          // a path.Match pattern over cell IDs; "" = all
	FailFast bool            // stop after the first failed cell
	Skip     map[string]bool // cell IDs that already have a result (resume)
	Shard    Shard           // run only this shard's cells; the zero Shard is every cell
}

// Shard is one of Count shards of a run's cells: cell k of the plan (in plan order, before
// --only and resume take any out) belongs to shard k mod Count. The assignment is fixed by
// the plan alone, so every shard of a run, on whatever node, agrees on it, and interleaved,
// so each shard gets a fair mix of methods, cache states and repetitions.
type Shard struct {
	Index, Count int // 0 <= Index < Count; Count 0 means unsharded
}

// ShardEnv are the environment variables a shard index may be given as: Slurm's job array
// task and a Kubernetes indexed job's completion index.
var ShardEnv = []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"}

// ParseShard parses --shard I/N. I is a number or the name of one of ShardEnv as $NAME or
// ${NAME}, read through getenv (for a job system that passes the argument unexpanded).
func ParseShard(s string, getenv func(string) string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("--shard %q: want I/N, e.g. 0/4 or $SLURM_ARRAY_TASK_ID/4", s)
	}
	if name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(is, "$"), "{"), "}"); strings.HasPrefix(is, "$") {
		if !slices.Contains(ShardEnv, name) {
			return Shard{}, fmt.Errorf("--shard %q: the index may name only $%s", s, strings.Join(ShardEnv, " or $"))
		}
		if is = getenv(name); is == "" {
			return Shard{}, fmt.Errorf("--shard %q: $%s is not set (not in a job array task?)", s, name)
		}
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: want I/N with N >= 1 and 0 <= I < N", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// String is "I/N", or "" for the zero Shard.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Has reports whether the k-th cell of the plan (from 0) is the shard's.
func (s Shard) Has(k int) bool { return s.Count <= 1 || k%s.Count == s.Index }

// Cells are the shard's cells of the plan's cells, in plan order.
func (s Shard) Cells(cells []plan.Cell) []plan.Cell {
	var out []plan.Cell
	for k, c := range cells {
		if s.Has(k) {
			out = append(out, c)
		}
	}
	return out
}

// Run runs the selected cells in plan order, writing cells/<cell>.json after each, and
// returns their results. A failed cell does not stop the run unless sel.FailFast.
func (r *Runner) Run(ctx context.Context, cells []plan.Cell, sel Selection) ([]*results.Cell, error) {
	var todo []plan.Cell
	for k, c := range cells {
		if !sel.Shard.Has(k) {
			continue
		}
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
		if res.Host == nil {
			res.Host = results.HostOf(r.Meta) // the shards of a run may run on different nodes
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
