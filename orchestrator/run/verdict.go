package run

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/results"
)

// A cell's verdict: ok, failed (the method, or what the spec asked of it, failed) or error
// (the host failed the cell: its figures say nothing of the method, and --resume runs it
// again). hostFault decides which of the last two a failure is.

// fullBelow is the free space of the run directory's file system under which a failure
// that speaks of a full device is taken for the results disk's (the partial file that
// filled it is still there when the failure is classified).
const fullBelow = 16 << 20

// killSignals are the signals by which a host process is killed from outside: the OOM
// killer, an operator, a job system. A crash (SIGSEGV, SIGABRT) is the method's failure.
var killSignals = []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP}

// hostFault reports why err, the failure of the cell's step of kind k, is the host's and not
// the method's, or "" when it is the method's: the tree changed under the cell, the results
// disk is full, a host tool is gone, or a host process (a tool, QEMU) was killed by a signal.
// A process (a tool, QEMU) killed by a signal counts only while the cell's context still
// runs: a cell aborted (a helper daemon died) or interrupted has its processes killed by
// vmfsbench itself.
func (cr *cellRun) hostFault(ctx context.Context, k method.StepKind, err error) string {
	var ee *exec.ExitError
	var he *hostError
	switch {
	case errors.As(err, &he):
		return "the host could not make the cell's files: " + he.Error()
	case errors.Is(err, ErrTreeChanged):
		return "the tree changed under the cell"
	case errors.Is(err, exec.ErrNotFound):
		return "a host tool is missing"
	case errors.Is(err, syscall.ENOSPC) && k != method.StepWorkload:
		return "the host's disk is full"
	case errors.As(err, &ee) && killed(ee) && ctx.Err() == nil:
		return "a host process was killed"
	case k != method.StepWorkload && k != method.StepMount && strings.Contains(strings.ToLower(err.Error()), "no space left on device") &&
		!strings.Contains(err.Error(), "the guest says") && diskNearlyFull(cr.c.Work):
		return "the host's disk is full"
	}
	if cr.guest != nil && ctx.Err() == nil {
		if exited, qerr := cr.guest.Exited(); exited && errors.As(qerr, &ee) && killed(ee) {
			return "QEMU was killed"
		}
	}
	return ""
}

// killed reports whether a process ended by one of killSignals.
func killed(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	for _, s := range killSignals {
		if ws.Signal() == s {
			return true
		}
	}
	return false
}

// diskNearlyFull reports whether the file system of dir has less than fullBelow free.
func diskNearlyFull(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	return int64(st.Bavail)*st.Bsize < fullBelow
}

// fail records err as the cell's failure in step (a step kind, or "" before any step) and
// whether the host caused it.
func (cr *cellRun) fail(ctx context.Context, k method.StepKind, err error) {
	if k == "" {
		cr.res.Error = err.Error()
	} else {
		cr.res.Error = fmt.Sprintf("%s: %v", k, err)
	}
	if why := cr.hostFault(ctx, k, err); why != "" {
		cr.hostCause = why
	}
}

// checkTree fails the cell when the tree is not the run's: before its first step (since
// the run started), after an image build (the image may hold another tree) and after its
// last step (the workload may have seen another tree). It reports whether the cell goes on.
func (cr *cellRun) checkTree(ctx context.Context, when string) bool {
	cr.res.Tree = cr.r.treeDigest()
	if err := cr.r.checkTree(ctx, "the run started ("+when+")"); err != nil {
		cr.fail(ctx, "", err)
		return false
	}
	return true
}

// verdict sets the cell's status once Finish has: error for a host fault, noted as a warning
// that says which.
func (cr *cellRun) verdict() {
	if cr.res.Status == results.StatusFailed && cr.hostCause != "" {
		cr.res.Status = results.StatusError
		cr.res.Warnings = append(cr.res.Warnings, "status error, not failed: "+cr.hostCause+
			"; the cell says nothing of the method, and --resume runs it again")
	}
}

// hostError marks a failure of the host's own file operations for the cell (its work and log
// directories): always the host's.
type hostError struct{ err error }

func (e *hostError) Error() string { return e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }

// ResumeSkip are the cells a resume does not run again, of the run's finished cells done:
// the ok ones, and the failed ones unless retryFailed. A cell in status error always runs
// again: the host failed it, not the method.
func ResumeSkip(done map[string]*results.Cell, retryFailed bool) map[string]bool {
	skip := map[string]bool{}
	for id, c := range done {
		switch c.Status {
		case results.StatusOK:
			skip[id] = true
		case results.StatusFailed:
			if !retryFailed {
				skip[id] = true
			}
		}
	}
	return skip
}
