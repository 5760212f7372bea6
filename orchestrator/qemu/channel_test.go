package qemu

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChannelAcceptAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl.sock")
	ch, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Path() != path {
		t.Errorf("Path() = %q, want %q", ch.Path(), path)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("socket file: %v, %v", fi, err)
	}
	// A second listener on the same path is refused, not silently replacing it.
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("second Listen(%s) = %v, want an error naming the path", path, err)
	}

	// The client plays QEMU: it connects and speaks first.
	go func() {
		c, err := net.Dial("unix", path)
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte(`{"event":"ready"}` + "\n"))
		_, _ = bufio.NewReader(c).ReadString('\n')
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := ch.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != `{"event":"ready"}`+"\n" {
		t.Errorf("read %q, %v", line, err)
	}
	if _, err := conn.Write([]byte("ok\n")); err != nil {
		t.Error(err)
	}
	conn.Close()

	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}
}

func TestChannelAcceptHonoursContext(t *testing.T) {
	ch, err := Listen(filepath.Join(t.TempDir(), "ctl.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()

	// Already cancelled.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ch.Accept(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Accept(cancelled) = %v, want context.Canceled", err)
	}

	// Times out while blocked.
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := ch.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Accept(timeout) = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Accept returned %s after a 100ms timeout", d)
	}

	// The timeout left no deadline behind: a later Accept waits for and
	// gets a client that connects after a pause.
	go func() {
		time.Sleep(200 * time.Millisecond)
		if c, err := net.Dial("unix", ch.Path()); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	conn, err := ch.Accept(ctx2)
	if err != nil {
		t.Fatalf("Accept after a timed-out Accept: %v", err)
	}
	conn.Close()
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen(""); !errors.Is(err, ErrBadPath) {
		t.Errorf("Listen(\"\") = %v, want ErrBadPath", err)
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("s", 110))
	if _, err := Listen(long); !errors.Is(err, ErrBadPath) {
		t.Errorf("Listen(long) = %v, want ErrBadPath", err)
	}
	missingDir := filepath.Join(t.TempDir(), "no", "ctl.sock")
	if _, err := Listen(missingDir); err == nil || !strings.Contains(err.Error(), missingDir) {
		t.Errorf("Listen(%s) = %v, want an error naming it", missingDir, err)
	}
}
