package run

import (
	"context"
	"fmt"
	"io"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// ExecIO is what a cell run by Exec does besides what a cell of `vmfsbench run` does: the
// command's output goes to Stdout and Stderr as the guest sends it, and the image builds go
// through Images.
type ExecIO struct {
	Stdout, Stderr io.Writer
	Images         *ImageCache // nil builds every image
}

// ExitNotStarted is Exec's status for a command that could not start in the guest (not
// found, not executable, no such directory), as a shell says it.
const ExitNotStarted = 127

// ExecResult is how a cell run by Exec ended.
type ExecResult struct {
	Cell *results.Cell
	// Status is the command's exit status: its own, 128+N when signal N ended it,
	// ExitNotStarted when it could not start. It is -1 when the command did not run to its
	// end for a reason of vmfsbench's (a boot or an image build that failed, a timeout, an
	// interrupt): Cell.Error says why.
	Status int
	// NotStarted says that the command could not start (Status is then ExitNotStarted).
	NotStarted bool
}

// Exec runs a cell planned from plan.ForExec: exactly its steps, as RunCell runs them, with
// the workload's output streamed to x's writers and the images kept in x's cache. Nothing
// is written to the run directory besides the cell's logs.
func (r *Runner) Exec(ctx context.Context, c plan.Cell, x ExecIO) ExecResult {
	r.execIO = &x
	defer func() { r.execIO = nil }()
	cr := r.runCell(ctx, c)
	out := ExecResult{Cell: cr.res, Status: -1}
	switch code := cr.res.ExitCode; {
	case code != nil && *code >= 0:
		out.Status = *code
	case code != nil && cr.signal > 0:
		out.Status = 128 + cr.signal
	case code == nil && cr.notStarted:
		out.Status, out.NotStarted = ExitNotStarted, true
	}
	return out
}

// outputs are where the workload's stdout and stderr go: to log, and for Exec to the
// command's own streams as well.
func (cr *cellRun) outputs(log io.Writer) (stdout, stderr io.Writer) {
	x := cr.r.execIO
	if x == nil {
		return log, log
	}
	return tee{log, x.Stdout}, tee{log, x.Stderr}
}

// tee writes to log and then to the user's stream; a user's stream that fails (a closed
// pipe) costs neither the log nor the guest its output.
type tee struct{ log, user io.Writer }

func (t tee) Write(p []byte) (int, error) {
	t.log.Write(p)
	t.user.Write(p)
	return len(p), nil
}

// cachedHostStep runs a build step of Exec through the image cache: images kept from an
// earlier build of the unchanged tree are used instead of building, and a new build is kept.
// handled is false for a step the cache has nothing to do with.
func (cr *cellRun) cachedHostStep(ctx context.Context, s method.Step) (handled bool, err error) {
	x := cr.r.execIO
	if x == nil || x.Images == nil || s.Kind != method.StepBuildImage || len(s.Images) == 0 {
		return false, nil
	}
	if ok, err := x.Images.Use(s, cr.c.Work); ok || err != nil {
		fmt.Fprintf(cr.log, "image cache %s: used instead of building\n", x.Images.Dir)
		return true, err
	}
	if err := cr.runHostStep(ctx, s); err != nil {
		return true, err
	}
	if err := x.Images.Store(s, cr.c.Work); err != nil {
		// The image is built and the cell goes on; only the next exec builds again.
		cr.r.progressf("warning: %v", err)
	}
	return true, nil
}
