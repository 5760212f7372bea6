package main

import (
	"context"
	"fmt"
	"net"

	"github.com/vmfsbench/vmfsbench/guestinit/sshd"
	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

// sshdStep serves the "sshd" step: it listens on s.Listen and extracts the one session's
// stdin into s.Target with the same code as "receive-tar".
func (a *agent) sshdStep(ctx context.Context, i int, s protocol.Step) (protocol.Result, error) {
	srv, err := sshd.New(s, extractTar, a.logf)
	if err != nil {
		return protocol.Result{}, err
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return protocol.Result{}, fmt.Errorf("sshd: %w", err)
	}
	defer ln.Close()
	res, n, err := srv.Serve(ctx, ln)
	if n > 0 || err == nil {
		a.send(protocol.Event{Kind: protocol.EventLog, Step: s.Label(i),
			Msg: fmt.Sprintf("received %d tar bytes over ssh (cipher %s): %d files, %d symlinks, %d content bytes",
				n, cipherName(s.Cipher), res.Files, res.Symlinks, res.Bytes)})
	}
	if err != nil {
		return res, fmt.Errorf("receiving into %s over ssh: %w", s.Target, err)
	}
	return res, nil
}

func cipherName(c string) string {
	if c == "" {
		return "negotiated"
	}
	return c
}
