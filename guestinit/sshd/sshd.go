// Package sshd is the guest agent's SSH server for the ssh-tar method: it accepts one client
// key, offers one cipher, and runs exactly one command, `tar -x -C TARGET`, by handing the
// session's stdin to an extract function. It has no shell, no PTY, no port forwarding and no
// password or keyboard-interactive authentication. It does not depend on being PID 1, so the
// host tests run it on a loopback port.
package sshd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/vmfsbench/vmfsbench/internal/sshwire"
	"io"
	"net"
	"path"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/crypto/ssh"
)

// Version is the server's identification string.
const Version = "SSH-2.0-vmfsbench"

// Timeouts of the server; variables so tests can shorten them.
var (
	// HandshakeTimeout bounds a connection's key exchange and authentication.
	HandshakeTimeout = 60 * time.Second
	// AcceptTimeout bounds the wait for the session that runs the command, from the start
	// of Serve.
	AcceptTimeout = 5 * time.Minute
	// closeWait bounds the wait for the client to close the connection after the exit
	// status was sent (closing first could reset the connection before it arrived).
	closeWait = 10 * time.Second
)

// ExtractFunc extracts the tar stream r into target and returns what it extracted and how
// many bytes of the stream it read.
type ExtractFunc func(ctx context.Context, r io.Reader, target string) (protocol.Result, int64, error)

// Server serves one "sshd" step.
type Server struct {
	config  *ssh.ServerConfig
	target  string
	extract ExtractFunc
	logf    func(format string, args ...any)
}

// New checks the step's keys and cipher and returns its server. logf receives a line per
// dropped connection; nil discards them.
func New(s protocol.Step, extract ExtractFunc, logf func(format string, args ...any)) (*Server, error) {
	signer, err := ssh.ParsePrivateKey([]byte(s.HostKey))
	if err != nil {
		return nil, fmt.Errorf("sshd: host key: %w", err)
	}
	allowed, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s.AuthorizedKey))
	if err != nil {
		return nil, fmt.Errorf("sshd: authorized key: %w", err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("sshd: authorized key: more than one key given")
	}
	if s.Target == "" || !path.IsAbs(s.Target) {
		return nil, fmt.Errorf("sshd: target %q is not an absolute path", s.Target)
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	want := allowed.Marshal()
	cfg := &ssh.ServerConfig{
		Config: ssh.Config{KeyExchanges: sshwire.KeyExchanges},
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if !bytes.Equal(key.Marshal(), want) {
				return nil, errors.New("sshd: key not authorized")
			}
			return &ssh.Permissions{}, nil
		},
		ServerVersion: Version,
		MaxAuthTries:  3,
	}
	if s.Cipher != "" {
		if !supportedCipher(s.Cipher) {
			return nil, fmt.Errorf("sshd: cipher %q is not supported (want one of %s)", s.Cipher, strings.Join(ssh.SupportedAlgorithms().Ciphers, ", "))
		}
		cfg.Ciphers = []string{s.Cipher}
	}
	cfg.AddHostKey(signer)
	return &Server{config: cfg, target: path.Clean(s.Target), extract: extract, logf: logf}, nil
}

func supportedCipher(c string) bool {
	for _, x := range ssh.SupportedAlgorithms().Ciphers {
		if x == c {
			return true
		}
	}
	return false
}

// Serve accepts connections on ln, one at a time, until one of them runs the command; it
// returns what the extraction returned, or the reason the command could not run. Connections
// that fail the handshake or close without running the command are dropped. It does not
// close ln. A cancelled ctx ends it.
func (srv *Server) Serve(ctx context.Context, ln net.Listener) (protocol.Result, int64, error) {
	deadline := time.Now().Add(AcceptTimeout)
	stop := context.AfterFunc(ctx, func() { setDeadline(ln, time.Unix(1, 0)) })
	defer stop()
	for {
		setDeadline(ln, deadline)
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return protocol.Result{}, 0, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return protocol.Result{}, 0, fmt.Errorf("sshd: no session ran the command within %v", AcceptTimeout)
			}
			return protocol.Result{}, 0, fmt.Errorf("sshd: accept: %w", err)
		}
		ran, res, n, err := srv.handle(ctx, conn)
		if ran {
			return res, n, err
		}
		srv.logf("sshd: connection from %s dropped: %v", conn.RemoteAddr(), err)
	}
}

func setDeadline(ln net.Listener, t time.Time) {
	if d, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		d.SetDeadline(t)
	}
}

// handle runs one connection. ran says whether a session ran (or refused) the command, after
// which the step is over.
func (srv *Server) handle(ctx context.Context, conn net.Conn) (ran bool, res protocol.Result, n int64, err error) {
	conn.SetDeadline(time.Now().Add(HandshakeTimeout))
	sconn, chans, reqs, err := ssh.NewServerConn(conn, srv.config)
	if err != nil {
		conn.Close()
		return false, res, 0, err
	}
	conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { sconn.Close() })
	defer stop()
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return false, res, 0, err
		}
		ran, res, n, err := srv.session(ctx, ch, creqs)
		if !ran {
			continue
		}
		// The client closes the connection once it has the exit status.
		done := make(chan struct{})
		go func() { sconn.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(closeWait):
		}
		return true, res, n, err
	}
	return false, res, 0, errors.New("closed without running the command")
}

// session serves one session channel: requests other than exec are refused; the first exec
// runs (or refuses) the command and ends the session.
func (srv *Server) session(ctx context.Context, ch ssh.Channel, reqs <-chan *ssh.Request) (bool, protocol.Result, int64, error) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			if req.WantReply {
				req.Reply(false, nil)
			}
			continue
		}
		var cmd struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &cmd); err != nil {
			req.Reply(false, nil)
			continue
		}
		req.Reply(true, nil)
		go ssh.DiscardRequests(reqs)
		var res protocol.Result
		var n int64
		target, err := sshwire.ParseTarCommand(cmd.Command)
		if err == nil && target != srv.target {
			err = fmt.Errorf("target %s is not the step's %s", target, srv.target)
		}
		if err != nil {
			err = fmt.Errorf("refusing command %q: %w", cmd.Command, err)
		} else {
			res, n, err = srv.extract(ctx, bufio.NewReaderSize(ch, 1<<20), target)
		}
		status := uint32(0)
		if err != nil {
			status = 1
			fmt.Fprintf(ch.Stderr(), "vmfsbench-agent: %v\n", err)
		}
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return true, res, n, err
	}
	return false, protocol.Result{}, 0, nil
}
