package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// How receive-tar waits for the host side of its port; variables so tests can shorten them.
var (
	// hostWait bounds the wait for the host to connect, from the step's start.
	hostWait = 2 * time.Minute
	// hostPoll is how often the port is tried again meanwhile.
	hostPoll = 10 * time.Millisecond
)

// readerFunc turns a function into an io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// awaitHost reads a virtio-serial port whose host side may not be connected yet. The driver
// answers a read with end-of-file at once while nothing is connected on the host, so until
// the first byte arrives an end-of-file means "not yet" and the read is tried again, for up
// to hostWait. After the first byte an end-of-file is the end of the stream. The order in
// which the host connects and the guest opens the port therefore does not matter.
func awaitHost(ctx context.Context, r io.Reader, port string) io.Reader {
	deadline := time.Now().Add(hostWait)
	started := false
	return readerFunc(func(p []byte) (int, error) {
		for {
			n, err := r.Read(p)
			if n > 0 {
				started = true
			}
			if started || err != io.EOF || len(p) == 0 {
				return n, err
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("port %q: the host did not connect within %v", port, hostWait)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(hostPoll):
			}
		}
	})
}
