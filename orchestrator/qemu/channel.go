package qemu

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Channel is the host end of a virtio-serial port: a unix-socket listener
// that QEMU connects to as a client when it starts (see VirtioSerialPort).
type Channel struct {
	ln   *net.UnixListener
	path string
}

// Listen creates a unix socket at path and listens on it. The path must not
// exist (a stale socket is an error, not silently replaced) and must fit in
// sun_path (107 bytes).
func Listen(path string) (*Channel, error) {
	if err := checkSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	return &Channel{ln: ln, path: path}, nil
}

// Path returns the socket's path, for VirtioSerialPort.
func (c *Channel) Path() string { return c.path }

// Accept waits for QEMU to connect and returns the connection. It returns
// early with an error matching ctx's error when ctx is done. Call Accept
// from one goroutine at a time.
func (c *Channel) Accept(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("accept on %s: %w", c.path, context.Cause(ctx))
	}
	// A deadline in the past makes a blocked Accept return; it is cleared
	// again so the next Accept is not affected.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.ln.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	conn, err := c.ln.Accept()
	if !stop() {
		<-fired
		_ = c.ln.SetDeadline(time.Time{})
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("accept on %s: %w", c.path, context.Cause(ctx))
		}
		return nil, fmt.Errorf("accept on %s: %w", c.path, err)
	}
	return conn, nil
}

// Close stops listening and removes the socket file. Connections already
// accepted stay open.
func (c *Channel) Close() error {
	// The listener was created by Listen, so closing it unlinks the file.
	if err := c.ln.Close(); err != nil {
		return fmt.Errorf("close %s: %w", c.path, err)
	}
	return nil
}
