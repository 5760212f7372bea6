package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/sys/unix"
)

// defaultPath is searched for a bare command name when the workload's Env has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execWaitDelay is how long the output pipes may stay open after the command exited (or was
// killed) before they are closed on it.
const execWaitDelay = 2 * time.Second

// runExec runs the exec workload with its working directory at root/w.Cwd (inside w.Chroot
// if set) and passes output chunks to out as the command writes them. The result carries the
// exit status whenever the command ran; the error is non-nil if it could not start, was
// killed, timed out or exited with a non-zero status.
func runExec(ctx context.Context, w protocol.Workload, root string, out func(stream, data string)) (protocol.Result, error) {
	start := time.Now()
	res := protocol.Result{ExitCode: -1}
	env := append([]string{}, w.Env...) // non-nil: the command gets exactly Env
	dir := path.Join(root, w.Cwd)
	prog, err := lookPath(w.Argv[0], env, w.Chroot)
	if err != nil {
		return res, startError{err}
	}
	cmd := exec.CommandContext(ctx, prog, w.Argv[1:]...)
	cmd.Args[0] = w.Argv[0]
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true, // a timeout kills the command's children too
		Pdeathsig: syscall.SIGKILL,
		Chroot:    w.Chroot,
	}
	if w.UID != 0 || w.GID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(w.UID), Gid: uint32(w.GID)}
	}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = execWaitDelay
	stdout := &chunker{stream: protocol.StreamStdout, out: out}
	stderr := &chunker{stream: protocol.StreamStderr, out: out}
	cmd.Stdout, cmd.Stderr = stdout, stderr

	where := dir
	if w.Chroot != "" {
		where = fmt.Sprintf("%s in chroot %s", dir, w.Chroot)
	}
	becomeSubreaper()
	before := children()
	if err := cmd.Start(); err != nil {
		return res, startError{fmt.Errorf("starting %q in %s: %w", w.Argv[0], where, err)}
	}
	err = cmd.Wait()
	left := lingering(cmd.Process.Pid, before) // (linger_linux.go)
	// Whatever the command left running in its process group goes with it.
	_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	stdout.flush()
	stderr.flush()
	res.Seconds = time.Since(start).Seconds()
	st := cmd.ProcessState
	res.ExitCode = st.ExitCode()
	switch {
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return res, fmt.Errorf("workload timed out after %gs and was killed", w.Timeout)
		}
		return res, fmt.Errorf("workload stopped: %w", ctx.Err())
	case st.ExitCode() < 0:
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = int(ws.Signal())
			return res, fmt.Errorf("workload killed by signal %v", ws.Signal())
		}
		return res, fmt.Errorf("workload ended abnormally: %v", st)
	case st.ExitCode() != 0:
		return res, fmt.Errorf("workload exited with status %d", st.ExitCode())
	case len(left) > 0:
		return res, killLingering(left)
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return res, fmt.Errorf("waiting for %q: %w", w.Argv[0], err)
	}
	return res, nil
}

// startError is a runExec error that left no exit status to report.
type startError struct{ err error }

func (e startError) Error() string { return e.err.Error() }
func (e startError) Unwrap() error { return e.err }

// lookPath resolves a bare command name through the PATH of env (or defaultPath) inside
// chroot, so that the name means what it means to the command, not to the agent. A name with
// a slash is returned unchanged; the kernel resolves it after chroot and chdir.
func lookPath(name string, env []string, chroot string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	search := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			search = v
		}
	}
	for _, d := range filepath.SplitList(search) {
		if d == "" || !path.IsAbs(d) {
			continue // relative PATH entries would depend on the cwd; skip them
		}
		p := path.Join(d, name)
		info, err := os.Stat(filepath.Join(chroot, p))
		if err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	if chroot != "" {
		return "", fmt.Errorf("command %q not found in PATH %s inside chroot %s", name, search, chroot)
	}
	return "", fmt.Errorf("command %q not found in PATH %s", name, search)
}

// chunker passes each write of one output stream on as a chunk, holding back an incomplete
// UTF-8 sequence at its end so that a character split across reads is not mangled by the
// JSON encoding of the event.
type chunker struct {
	stream  string
	out     func(stream, data string)
	pending []byte
}

func (c *chunker) Write(p []byte) (int, error) {
	data := append(c.pending, p...)
	cut := completeUTF8(data)
	c.pending = append([]byte(nil), data[cut:]...)
	if cut > 0 {
		c.out(c.stream, string(data[:cut]))
	}
	return len(p), nil
}

func (c *chunker) flush() {
	if len(c.pending) > 0 {
		c.out(c.stream, string(c.pending))
		c.pending = nil
	}
}

// completeUTF8 returns the length of b without a trailing incomplete UTF-8 sequence.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if b[i] < utf8.RuneSelf {
			return len(b)
		}
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}
