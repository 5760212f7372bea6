package method

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Bounds of the stream methods' transfers; variables so tests can shorten them.
var (
	// streamStall ends a transfer in which no byte moved for this long: a guest that stopped
	// reading (it failed, or hangs) must not hang the host.
	streamStall = 2 * time.Minute
	// streamConnect bounds the wait for the guest's sshd to come up after boot.
	streamConnect = 2 * time.Minute
)

// tarSource writes the stream and says what it held.
type tarSource func(ctx context.Context, w io.Writer) (tree.Summary, error)

// treeSource streams the cell's filtered, owner-mapped tree.
func treeSource(c Config, m *tree.Matcher) tarSource {
	var owner *tree.Owner
	if c.Owner != nil {
		owner = &tree.Owner{UID: c.Owner.UID, GID: c.Owner.GID}
	}
	return func(ctx context.Context, w io.Writer) (tree.Summary, error) {
		return tree.WriteTar(ctx, w, c.Tree, m, owner)
	}
}

// watchdog counts the bytes written through it and calls abort when ctx ends or when no
// byte was written for streamStall, so that a transfer blocked in a write or a wait comes
// back. Stop it before reading Err.
type watchdog struct {
	w       io.Writer
	n       atomic.Int64 // bytes written
	moves   atomic.Int64 // writes and other signs of progress
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	reason  error
	stopped sync.Once
}

func newWatchdog(ctx context.Context, w io.Writer, abort func()) *watchdog {
	d := &watchdog{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		tick := time.NewTicker(min(streamStall/4, time.Second))
		defer tick.Stop()
		last, since := int64(-1), time.Now()
		for {
			select {
			case <-d.stop:
				return
			case <-ctx.Done():
				d.fail(context.Cause(ctx))
				abort()
				return
			case <-tick.C:
				if m := d.moves.Load(); m != last {
					last, since = m, time.Now()
				} else if time.Since(since) >= streamStall {
					d.fail(fmt.Errorf("the stream stalled: no progress for %v after %d bytes", streamStall, d.n.Load()))
					abort()
					return
				}
			}
		}
	}()
	return d
}

func (d *watchdog) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.n.Add(int64(n))
	d.moves.Add(1)
	return n, err
}

// progress marks progress that is not a write (a wait that saw the far end move).
func (d *watchdog) progress() { d.moves.Add(1) }

func (d *watchdog) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reason == nil {
		d.reason = err
	}
}

// Stop ends the watchdog and returns why it aborted the transfer, or nil.
func (d *watchdog) Stop() error {
	d.stopped.Do(func() { close(d.stop) })
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reason
}

// streamStats is what a transfer reports.
type streamStats struct {
	sum      tree.Summary
	bytes    int64         // tar bytes handed over
	attempts int           // connections tried until the far end answered
	connect  time.Duration // until the far end answered
	stream   time.Duration // from then until the transfer ended
}

// log writes the transfer's size and rate to w (the cell's host log).
func (s streamStats) log(w io.Writer, what string) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "%s: connected after %d attempts in %.2fs; sent %d tar bytes (%d files, %d symlinks, %d content bytes) in %.2fs: %.2f MB/s\n",
		what, s.attempts, s.connect.Seconds(), s.bytes, s.sum.Files, s.sum.Symlinks, s.sum.Bytes, s.stream.Seconds(),
		float64(s.bytes)/1e6/max(s.stream.Seconds(), 1e-9))
}

// sendSerial streams src into the virtio-serial port whose QEMU server socket is at sock
// (VirtioSerialServerPort). It returns once QEMU has taken every byte from the socket, which
// it does only as fast as the guest gives it buffers, and the connection is closed.
func sendSerial(ctx context.Context, sock string, src tarSource) (streamStats, error) {
	var st streamStats
	start := time.Now()
	conn, err := dialUnix(ctx, sock)
	st.attempts, st.connect = 1, time.Since(start)
	if err != nil {
		return st, err
	}
	defer conn.Close()
	start = time.Now()
	wd := newWatchdog(ctx, conn, func() { conn.Close() })
	st.sum, err = src(ctx, wd)
	if err == nil {
		err = drained(ctx, conn, wd)
	}
	if err == nil {
		err = conn.CloseWrite()
	}
	if why := wd.Stop(); why != nil {
		err = why
	}
	st.bytes, st.stream = wd.n.Load(), time.Since(start)
	if err != nil {
		return st, fmt.Errorf("virtio-serial socket %s after %d bytes: %w", sock, st.bytes, err)
	}
	return st, conn.Close()
}

// dialUnix connects to the unix socket at path. QEMU made it listen before the guest ran,
// so a missing socket means QEMU is gone: there is nothing to wait for.
func dialUnix(ctx context.Context, path string) (*net.UnixConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connecting to QEMU's socket of the port: %w", err)
	}
	return c.(*net.UnixConn), nil
}

// drained waits until the peer has read everything written to conn: for a unix socket
// SIOCOUTQ is what the peer has not consumed yet.
func drained(ctx context.Context, conn *net.UnixConn, wd *watchdog) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	last := -1
	for {
		var queued int
		var ierr error
		if err := rc.Control(func(fd uintptr) { queued, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil {
			return err
		}
		if ierr != nil {
			return fmt.Errorf("SIOCOUTQ: %w", ierr)
		}
		if queued == 0 {
			return nil
		}
		if queued != last {
			last = queued
			wd.progress()
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(2 * time.Millisecond):
		}
	}
}
