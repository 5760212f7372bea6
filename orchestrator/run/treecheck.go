package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// FingerprintFile is the run directory's fingerprint of the tree (tree.Fingerprint, encoded):
// the one taken when the run started, or the one a resume with --accept-tree-change took.
// run.json holds its digest; every cell is checked against it.
const FingerprintFile = "tree.fingerprint.gz"

// briefPaths is how many changed paths an error names.
const briefPaths = 5

// ErrTreeChanged is what a cell or a resume fails with when the tree is not the run's.
var ErrTreeChanged = errors.New("the tree changed")

// TreeChangedError says what changed in the tree since the fingerprint it is checked against.
type TreeChangedError struct {
	Since   string // "the run started", "the cell started"...
	Changes tree.Changes
}

func (e *TreeChangedError) Error() string {
	return fmt.Sprintf("%v since %s: %s", ErrTreeChanged, e.Since, e.Changes.Brief(briefPaths))
}

// Unwrap makes errors.Is(err, ErrTreeChanged) true.
func (e *TreeChangedError) Unwrap() error { return ErrTreeChanged }

// takeFingerprint fingerprints the runner's tree with its exclusions.
func (r *Runner) takeFingerprint(ctx context.Context) (*tree.Fingerprint, error) {
	return tree.TakeFingerprint(ctx, r.Tree.Path, r.Tree.Matcher)
}

// checkTree fingerprints the tree again and fails with a *TreeChangedError when it is not the
// run's (Tree.AtStart); with no fingerprint to compare with (a plan), it checks nothing.
func (r *Runner) checkTree(ctx context.Context, since string) error {
	if r.Tree.AtStart == nil {
		return nil
	}
	now, err := r.takeFingerprint(ctx)
	if err != nil {
		return err
	}
	if c := r.Tree.AtStart.Diff(now); !c.Empty() {
		return &TreeChangedError{Since: since, Changes: c}
	}
	return nil
}

// TreeStamp is what run.json records of the run's tree fingerprint.
func (r *Runner) TreeStamp() *results.TreeStamp {
	if r.Tree.AtStart == nil {
		return nil
	}
	return &results.TreeStamp{Fingerprint: r.treeDigest(), Entries: len(r.Tree.AtStart.Stamps)}
}

// AdoptTree compares the tree as the runner found it with the fingerprint the run directory
// dir holds (a resume, or a shard after the first) and writes the runner's when dir holds
// none (a new run). A tree that changed is refused with a *TreeChangedError, unless accept:
// then the runner's fingerprint replaces the directory's, and the change is returned for
// run.json and the report to state. Without a fingerprint of its own (no tree to take one
// of), the runner adopts nothing.
func (r *Runner) AdoptTree(dir string, accept bool) (*results.TreeChange, error) {
	if r.Tree.AtStart == nil {
		return nil, nil
	}
	file := filepath.Join(dir, FingerprintFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, writeFingerprint(file, r.Tree.AtStart)
	}
	if err != nil {
		return nil, err
	}
	old, err := tree.ReadFingerprint(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c := old.Diff(r.Tree.AtStart)
	if c.Empty() {
		return nil, nil
	}
	if !accept {
		return nil, &TreeChangedError{Since: "the run started", Changes: c}
	}
	change := &results.TreeChange{Time: time.Now().UTC(), From: old.Digest(), To: r.Tree.AtStart.Digest(),
		Paths: c.Count(), Brief: c.Brief(briefPaths)}
	return change, writeFingerprint(file, r.Tree.AtStart)
}

func writeFingerprint(file string, f *tree.Fingerprint) error {
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		return err
	}
	return atomicfile.WriteFile(file, b.Bytes(), 0o644)
}

// treeDigest is TreeAtStart's digest, "" without one.
func (r *Runner) treeDigest() string {
	if r.Tree.AtStart == nil {
		return ""
	}
	if r.treeSum == "" {
		r.treeSum = r.Tree.AtStart.Digest()
	}
	return r.treeSum
}
