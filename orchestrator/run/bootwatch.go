package run

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
)

// errBootHung is the error of a guest whose console stopped before its agent spoke.
var errBootHung = errors.New("boot hung")

// consoleWatch tells how long a booting kernel's console has stayed as it is, as seen at each
// look, until the kernel runs the agent (initLine): from there the boot is the agent's, whose
// start can be silent for long on a loaded host and which the boot timeout covers.
type consoleWatch struct {
	path string
	size int64
	at   time.Time // when a look last saw it change (or when watching began)
	done bool      // the kernel ran the agent
}

// initLine is what the kernel prints as it runs the agent.
const initLine = "Run /init as init process"

// still returns how long the console has not grown, 0 once the kernel ran the agent.
func (w *consoleWatch) still() time.Duration {
	if w.done {
		return 0
	}
	if fi, err := os.Stat(w.path); err == nil && fi.Size() != w.size {
		w.size, w.at = fi.Size(), time.Now()
		if b, err := os.ReadFile(w.path); err == nil && bytes.Contains(b, []byte(initLine)) {
			w.done = true
			return 0
		}
	}
	return time.Since(w.at)
}

// startupExit describes a QEMU that exited before the guest's agent said anything (a bad
// option in qemu.args, a kernel QEMU cannot load) as what it is, instead of err, which
// speaks of the wait for the agent (and of the boot timeout it never reached). err stays
// when QEMU is still running.
//
// A QEMU that crashed (killed by SIGABRT, SIGSEGV or SIGBUS: an assertion inside QEMU, as
// QEMU 10.0's iotlb_to_section under TCG once in the Debian 13 lane) is errQEMUCrashed: that
// says nothing of the method, and the cell boots again. A bad option exits with a status.
func startupExit(g *guest.Guest, err error) error {
	exited, exitErr := g.Exited()
	if !exited {
		return err
	}
	after := time.Since(g.Started()).Round(100 * time.Millisecond)
	note := strings.TrimPrefix(g.ExitNote(), "; qemu exited")
	err = fmt.Errorf("qemu exited %s after it started, before the guest's agent said anything: it did not boot the guest (not a boot timeout)%s", after, note)
	if crashed(exitErr) {
		err = fmt.Errorf("%w: %w", errQEMUCrashed, err)
	}
	return err
}

// errQEMUCrashed is a QEMU that a crash signal ended before the guest's agent spoke.
var errQEMUCrashed = errors.New("qemu crashed")

// crashed says whether a process's exit error is a crash: SIGABRT, SIGSEGV or SIGBUS.
func crashed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	switch ws.Signal() {
	case syscall.SIGABRT, syscall.SIGSEGV, syscall.SIGBUS:
		return true
	}
	return false
}
