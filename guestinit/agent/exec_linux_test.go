package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// chunks records output events in order.
type chunks struct {
	mu  sync.Mutex
	got []struct{ stream, data string }
	at  []time.Time
}

func (c *chunks) add(stream, data string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, struct{ stream, data string }{stream, data})
	c.at = append(c.at, time.Now())
}

func (c *chunks) text(stream string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, ch := range c.got {
		if ch.stream == stream {
			b.WriteString(ch.data)
		}
	}
	return b.String()
}

var hostEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

func TestExecStatusAndStreams(t *testing.T) {
	var c chunks
	w := protocol.Workload{Kind: protocol.WorkloadExec, Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, Env: hostEnv}
	res, err := runExec(context.Background(), w, t.TempDir(), c.add)
	if err == nil || err.Error() != "workload exited with status 3" {
		t.Errorf("error %v, want exit status 3", err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode)
	}
	if got := c.text(protocol.StreamStdout); got != "out\n" {
		t.Errorf("stdout %q", got)
	}
	if got := c.text(protocol.StreamStderr); got != "err\n" {
		t.Errorf("stderr %q", got)
	}
}

func TestExecStreamsAsItGoes(t *testing.T) {
	// The first line must arrive while the command is still sleeping, not at its end.
	var c chunks
	w := protocol.Workload{Argv: []string{"sh", "-c", "echo first; sleep 1; echo second"}, Env: hostEnv}
	start := time.Now()
	res, err := runExec(context.Background(), w, t.TempDir(), c.add)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exit %d, error %v", res.ExitCode, err)
	}
	if len(c.got) != 2 || c.got[0].data != "first\n" || c.got[1].data != "second\n" {
		t.Fatalf("chunks %q", c.got)
	}
	if d := c.at[0].Sub(start); d > 700*time.Millisecond {
		t.Errorf("first chunk came %v after the start: output is not streamed", d)
	}
	if d := c.at[1].Sub(c.at[0]); d < 900*time.Millisecond {
		t.Errorf("chunks %v apart, want about a second", d)
	}
}

func TestExecCwdEnv(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sub", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	var c chunks
	w := protocol.Workload{Argv: []string{"sh", "-c", `pwd; echo "$FOO"; env | wc -l`}, Cwd: "sub/dir", Env: append([]string{"FOO=bar"}, hostEnv...)}
	if _, err := runExec(context.Background(), w, root, c.add); err != nil {
		t.Fatal(err)
	}
	// sh adds PWD (and may add SHLVL, _): the environment is otherwise exactly Env.
	lines := strings.Split(c.text(protocol.StreamStdout), "\n")
	if lines[0] != filepath.Join(root, "sub", "dir") || lines[1] != "bar" {
		t.Errorf("output %q", lines)
	}
}

func TestExecRelativeProgram(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "test"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "lit"), []byte("#!/bin/sh\necho lit \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var c chunks
	w := protocol.Workload{Argv: []string{"../bin/lit", "-sv", "."}, Cwd: "test", Env: hostEnv}
	if _, err := runExec(context.Background(), w, root, c.add); err != nil {
		t.Fatal(err)
	}
	if got := c.text(protocol.StreamStdout); got != "lit -sv .\n" {
		t.Errorf("stdout %q", got)
	}
}

func TestExecTimeout(t *testing.T) {
	var c chunks
	// The background child keeps the pipes open: the whole group must go.
	w := protocol.Workload{Argv: []string{"sh", "-c", "sleep 30 & echo started; sleep 30"}, Env: hostEnv, Timeout: 0.5}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := runExec(ctx, w, t.TempDir(), c.add)
	if err == nil || err.Error() != "workload timed out after 0.5s and was killed" {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if res.ExitCode != -1 || c.text(protocol.StreamStdout) != "started\n" {
		t.Errorf("exit code %d, stdout %q", res.ExitCode, c.text(protocol.StreamStdout))
	}
}

func TestExecNotFound(t *testing.T) {
	var c chunks
	_, err := runExec(context.Background(), protocol.Workload{Argv: []string{"no-such-command-x"}, Env: hostEnv}, t.TempDir(), c.add)
	var se startError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `command "no-such-command-x" not found in PATH /usr/sbin:/usr/bin:/sbin:/bin`) {
		t.Errorf("error %v", err)
	}
	_, err = runExec(context.Background(), protocol.Workload{Argv: []string{"true"}, Env: hostEnv, Cwd: "missing"}, t.TempDir(), c.add)
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing cwd: error %v", err)
	}
}

func TestExecSignal(t *testing.T) {
	var c chunks
	res, err := runExec(context.Background(), protocol.Workload{Argv: []string{"sh", "-c", "kill -TERM $$"}, Env: hostEnv}, t.TempDir(), c.add)
	if err == nil || err.Error() != "workload killed by signal terminated" || res.ExitCode != -1 || res.Signal != 15 {
		t.Errorf("exit code %d, signal %d, error %v", res.ExitCode, res.Signal, err)
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.Root(t, "the workload's credentials and chroot")
}

func TestExecCredentials(t *testing.T) {
	requireRoot(t)
	var c chunks
	w := protocol.Workload{Argv: []string{"sh", "-c", "id -u; id -g; id -G; touch f"}, Env: hostEnv, UID: 1234, GID: 2345}
	root := t.TempDir()
	// Searchable but not writable for 1234 (TempDir makes its parent 0700).
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	res, err := runExec(context.Background(), w, root, c.add)
	if got := c.text(protocol.StreamStdout); got != "1234\n2345\n2345\n" {
		t.Errorf("stdout %q", got)
	}
	if res.ExitCode != 1 || err == nil || !strings.Contains(c.text(protocol.StreamStderr), "Permission denied") {
		t.Errorf("touch in a root-owned directory: exit %d, error %v, stderr %q", res.ExitCode, err, c.text(protocol.StreamStderr))
	}
}

func TestExecChroot(t *testing.T) {
	requireRoot(t)
	busybox := testenv.Tool(t, "busybox")[0]
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	for _, d := range []string{"bin", "work/tree/sub"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "marker"), []byte("inside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c chunks
	// "sh" is looked up in the chroot's /bin, not the host's PATH.
	w := protocol.Workload{Argv: []string{"sh", "-c", "pwd; busybox cat /marker"}, Cwd: "sub", Env: []string{"PATH=/bin"}, Chroot: rootfs}
	if _, err := runExec(context.Background(), w, "/work/tree", c.add); err != nil {
		t.Fatalf("%v; stderr %q", err, c.text(protocol.StreamStderr))
	}
	if got := c.text(protocol.StreamStdout); got != "/work/tree/sub\ninside\n" {
		t.Errorf("stdout %q", got)
	}
	_, err = runExec(context.Background(), protocol.Workload{Argv: []string{"ls"}, Env: []string{"PATH=/bin"}, Chroot: rootfs}, "/", c.add)
	if err == nil || !strings.Contains(err.Error(), `command "ls" not found in PATH /bin inside chroot `+rootfs) {
		t.Errorf("ls missing in the chroot: error %v", err)
	}
}

func TestChunkerUTF8(t *testing.T) {
	var c chunks
	ch := &chunker{stream: protocol.StreamStdout, out: c.add}
	s := "a€b😀"
	// Feed one byte at a time: no chunk may end inside a character.
	for i := range len(s) {
		ch.Write([]byte{s[i]})
	}
	ch.Write([]byte{0xff}) // not UTF-8 at all: passed on, not held forever
	ch.Write([]byte{0xe2, 0x82})
	ch.flush() // an incomplete sequence at the end is sent by flush
	want := []string{"a", "€", "b", "😀", "\xff", "\xe2\x82"}
	if len(c.got) != len(want) {
		t.Fatalf("chunks %q, want %q", c.got, want)
	}
	for i, w := range want {
		if c.got[i].data != w {
			t.Errorf("chunk %d %q, want %q", i, c.got[i].data, w)
		}
	}
}

// TestExecLeavesProcesses: a workload whose command exits 0 but leaves processes running, in
// its process group or escaped from it with setsid, fails naming them, and they are killed.
func TestExecLeavesProcesses(t *testing.T) {
	var c chunks
	w := protocol.Workload{Argv: []string{"sh", "-c", "sleep 600 & setsid sleep 601 & sleep 0.2; exit 0"}, Env: hostEnv}
	res, err := runExec(context.Background(), w, t.TempDir(), c.add)
	if err == nil || res.ExitCode != 0 || !strings.HasPrefix(err.Error(), "the workload's command exited but left 2 processes running: ") ||
		!strings.Contains(err.Error(), "(sleep)") || !strings.HasSuffix(err.Error(), "; they were killed. A workload must wait for what it starts") {
		t.Fatalf("exit code %d, error %v", res.ExitCode, err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		alive := 0
		for _, p := range processes() {
			if p.comm == "sleep" && p.state != "Z" && (p.ppid == os.Getpid()) {
				alive++
			}
		}
		if alive == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d sleeps still alive", alive)
		}
	}
}
