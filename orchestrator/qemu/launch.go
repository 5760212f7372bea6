package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// waitDelay bounds how long Wait keeps reading QEMU's stdout and stderr after
// QEMU has exited or been killed, in case something else still holds the
// pipes open.
const waitDelay = 3 * time.Second

// VM is a running QEMU (or any command started by Start), alone in its own
// process group.
type VM struct {
	cmd  *exec.Cmd
	argv []string
	done chan struct{}
	err  error // set before done is closed
}

// Start starts argv[0] with the arguments argv[1:] in a new process group
// whose id is the child's pid. stdout and stderr may be nil (/dev/null).
//
// When ctx is done the whole group is killed with SIGKILL; the child also gets
// SIGKILL if this process dies (Pdeathsig). When the child exits, whatever it
// left in its group is killed too, so no helper outlives the VM: once Wait
// returns, nothing in the group is running. Call Wait to release resources.
//
// Pdeathsig fires when the OS thread that forked the child ends; the Go
// runtime ends threads only for goroutines that exit while locked with
// runtime.LockOSThread, so do not call Start from such a goroutine.
func Start(ctx context.Context, argv []string, stdout, stderr io.Writer) (*VM, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("start: %w: empty argv", ErrNoBinary)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	vm := &VM{cmd: cmd, argv: append([]string(nil), argv...), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		reapGroup(cmd.Process.Pid)
		switch {
		case err != nil && ctx.Err() != nil:
			err = fmt.Errorf("%s (pid %d): %w: %w", argv[0], cmd.Process.Pid, context.Cause(ctx), err)
		case err != nil:
			err = fmt.Errorf("%s (pid %d): %w", argv[0], cmd.Process.Pid, err)
		}
		vm.err = err
		close(vm.done)
	}()
	return vm, nil
}

// Wait waits for the VM's process to exit and returns its error: nil for exit
// status 0, an *exec.ExitError otherwise, and, if the context given to Start
// ended the process, an error that also matches the context's error (e.g.
// context.DeadlineExceeded). It may be called any number of times.
func (v *VM) Wait() error {
	<-v.done
	return v.err
}

// Done returns a channel that is closed when the VM's process has exited and
// Wait would not block.
func (v *VM) Done() <-chan struct{} { return v.done }

// Kill sends SIGKILL to the VM's whole process group. It is a no-op once the
// process has exited.
func (v *VM) Kill() error {
	select {
	case <-v.done:
		return nil
	default:
	}
	if err := killGroup(v.Pid()); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", v.argv[0], v.Pid(), err)
	}
	return nil
}

// CPU returns the user and system time of the VM's process once it has exited (its
// children's too, those it waited for); zeros while it runs.
func (v *VM) CPU() (user, system time.Duration) {
	select {
	case <-v.done:
	default:
		return 0, 0
	}
	if ps := v.cmd.ProcessState; ps != nil {
		return ps.UserTime(), ps.SystemTime()
	}
	return 0, 0
}

// Pid returns the process id of the VM's process, which is also its process
// group id.
func (v *VM) Pid() int { return v.cmd.Process.Pid }

// Argv returns a copy of the command line the VM was started with.
func (v *VM) Argv() []string { return append([]string(nil), v.argv...) }

// reapGroup kills what is left in process group pgid and waits (up to
// groupDeathTimeout) until none of it is running, so that when Wait returns
// the VM's processes are gone, not merely signalled.
func reapGroup(pgid int) {
	if killGroup(pgid) != nil {
		return
	}
	for deadline := time.Now().Add(groupDeathTimeout); GroupAlive(pgid) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

// groupDeathTimeout bounds how long reapGroup waits for SIGKILLed processes
// to die; it only matters for processes stuck in uninterruptible sleep.
const groupDeathTimeout = 2 * time.Second

// killGroup sends SIGKILL to process group pgid; a group that is already gone
// is os.ErrProcessDone, which exec.Cmd.Cancel treats as success.
func killGroup(pgid int) error {
	if pgid <= 0 {
		return fmt.Errorf("kill process group %d: invalid group", pgid)
	}
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// GroupAlive reports whether process group pgid still has a live member.
// Zombies do not count: where pid 1 does not reap orphans (as in this lab's
// sandbox), a killed grandchild stays a zombie in the group for ever, and
// kill(-pgid, 0) alone would keep reporting it.
func GroupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true // kill says there is a member and we cannot look closer
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		state, pgrp, ok := procStat(e.Name())
		if ok && pgrp == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat returns the state and process group of /proc/PID/stat.
func procStat(pid string) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp ..."; comm may contain spaces and ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pgrp, true
}

// Quote renders argv as a shell command line, single-quoting the arguments
// that need it, so a logged QEMU command can be replayed by hand.
func Quote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quoteArg(a)
	}
	return strings.Join(q, " ")
}

func quoteArg(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
