package method

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/sshwire"
)

// sshSecret is drawn once per process; every cell's keys derive from it and the cell's work
// directory, so the job (written at boot) and the transfer (after boot) agree on them without
// keeping state, and no two cells or runs share a key.
var sshSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("ssh keys: no randomness: %v", err)) // crypto/rand does not fail on Linux
	}
	return b
})

// sshKey returns the cell's ed25519 key for role ("host" or "client").
func sshKey(c Config, role string) ed25519.PrivateKey {
	mac := hmac.New(sha256.New, sshSecret())
	mac.Write([]byte("vmfsbench ssh-tar " + role + "\x00" + c.Work))
	return ed25519.NewKeyFromSeed(mac.Sum(nil))
}

// sshdStep is the guest step of ssh-tar: the agent's sshd with the cell's host key,
// accepting the cell's client key, restricted to the cell's cipher.
func sshdStep(c Config) protocol.Step {
	block, err := ssh.MarshalPrivateKey(sshKey(c, "host"), "")
	if err != nil {
		panic(fmt.Sprintf("ssh host key: %v", err)) // an ed25519 key always marshals
	}
	client, err := ssh.NewPublicKey(sshKey(c, "client").Public())
	if err != nil {
		panic(fmt.Sprintf("ssh client key: %v", err))
	}
	return protocol.Step{Kind: protocol.StepSSHD, Name: "sshd", Listen: fmt.Sprintf(":%d", guestPort),
		HostKey: string(pem.EncodeToMemory(block)), AuthorizedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(client))),
		Cipher: c.Params.Str("cipher"), Target: c.Mountpoint}
}

// Bounds of one connection to the guest's sshd: the handshake (the guest's crypto is
// emulated), and the wait for the server's first byte, which grows by half with each
// attempt.
var (
	sshHandshakeTimeout = 60 * time.Second
	sshAnswer           = time.Second
)

// sshTarget is where and how the host reaches the guest's sshd.
type sshTarget struct {
	addr    string        // 127.0.0.1:PORT, forwarded to the guest
	hostKey ssh.PublicKey // the only host key accepted
	client  ed25519.PrivateKey
	cipher  string // "" lets the two ends choose
	dir     string // the guest directory tar extracts into
}

func cellSSHTarget(c Config) (sshTarget, error) {
	host, err := ssh.NewPublicKey(sshKey(c, "host").Public())
	if err != nil {
		return sshTarget{}, err
	}
	return sshTarget{addr: fmt.Sprintf("127.0.0.1:%d", c.HostPort), hostKey: host, client: sshKey(c, "client"),
		cipher: c.Params.Str("cipher"), dir: c.Mountpoint}, nil
}

// errHostKey marks a server that showed another host key than the pinned one.
var errHostKey = errors.New("ssh: the server's host key is not the one handed to the guest")

// sendSSH streams src into `tar -x -C DIR` run by the guest's sshd, and returns when the
// guest reported the command's exit status: the stream is then extracted.
func sendSSH(ctx context.Context, t sshTarget, src tarSource) (streamStats, error) {
	var st streamStats
	start := time.Now()
	client, attempts, err := dialSSH(ctx, t)
	st.attempts, st.connect = attempts, time.Since(start)
	if err != nil {
		return st, err
	}
	start = time.Now()
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return st, fmt.Errorf("ssh %s: session: %w", t.addr, err)
	}
	defer sess.Close()
	stdin, err := sess.StdinPipe()
	if err != nil {
		return st, err
	}
	var stderr tailBuffer
	sess.Stdout, sess.Stderr = &stderr, &stderr
	cmd := sshwire.TarCommand(t.dir)
	if err := sess.Start(cmd); err != nil {
		return st, fmt.Errorf("ssh %s: %s: %w", t.addr, cmd, err)
	}
	wd := newWatchdog(ctx, stdin, func() { client.Close() })
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	var werr error
	st.sum, werr = src(ctx, wd)
	if werr == nil {
		werr = stdin.Close()
		err = <-waited
	} else {
		// A write fails with EOF when the guest closed the session, having failed: give its
		// exit status a moment to arrive. Any other failure is the host's own.
		grace := 5 * time.Second
		if !errors.Is(werr, io.EOF) {
			grace = 0
		}
		select {
		case err = <-waited:
		case <-time.After(grace):
			client.Close()
			err = <-waited
		}
	}
	why := wd.Stop()
	st.bytes, st.stream = wd.n.Load(), time.Since(start)
	var exit *ssh.ExitError
	// The exit status says more than a write error: the guest stops reading when it fails.
	switch {
	case why != nil:
		err = why
	case errors.As(err, &exit):
		err = fmt.Errorf("guest %s exited with status %d: %s", cmd, exit.ExitStatus(), strings.TrimSpace(stderr.String()))
	case werr != nil:
		err = werr
	case err != nil:
		err = fmt.Errorf("waiting for guest %s: %w", cmd, err)
	}
	if err != nil {
		return st, fmt.Errorf("ssh %s after %d bytes: %w", t.addr, st.bytes, err)
	}
	return st, nil
}

// dialSSH connects until the guest's sshd answers, for up to streamConnect. QEMU accepts on
// the forwarded port before anything listens in the guest and then drops the connection, so
// a failure before the server showed its host key is retried; one after it (a wrong host
// key, a refused client key), a refused connection (no QEMU) or no common algorithm is final.
func dialSSH(ctx context.Context, t sshTarget) (*ssh.Client, int, error) {
	signer, err := ssh.NewSignerFromKey(t.client)
	if err != nil {
		return nil, 0, err
	}
	deadline := time.Now().Add(streamConnect)
	pause := 50 * time.Millisecond
	answer := sshAnswer
	for attempt := 1; ; attempt++ {
		var answered atomic.Bool
		cfg := &ssh.ClientConfig{
			User: "root",
			Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
				answered.Store(true)
				if !bytes.Equal(key.Marshal(), t.hostKey.Marshal()) {
					return fmt.Errorf("%w (got %s %s)", errHostKey, key.Type(), ssh.FingerprintSHA256(key))
				}
				return nil
			},
			HostKeyAlgorithms: []string{t.hostKey.Type()},
			Config:            ssh.Config{KeyExchanges: sshwire.KeyExchanges},
		}
		if t.cipher != "" {
			cfg.Ciphers = []string{t.cipher}
		}
		client, err := dialOnce(ctx, t.addr, cfg, answer)
		if err == nil {
			return client, attempt, nil
		}
		if ctx.Err() != nil {
			return nil, attempt, fmt.Errorf("ssh %s: %w", t.addr, context.Cause(ctx))
		}
		if answered.Load() || strings.Contains(err.Error(), "no common algorithm") {
			return nil, attempt, fmt.Errorf("ssh %s: %w", t.addr, err)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			// QEMU listens on the forwarded port for as long as it runs.
			return nil, attempt, fmt.Errorf("ssh %s: nothing listens on the forwarded port (has QEMU exited?): %w", t.addr, err)
		}
		if time.Now().After(deadline) {
			return nil, attempt, fmt.Errorf("ssh %s: the guest's sshd did not answer within %v (%d attempts): %w", t.addr, streamConnect, attempt, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
		answer = min(answer+answer/2, 10*time.Second)
	}
}

// dialOnce connects and shakes hands within sshHandshakeTimeout, giving up earlier when the
// server has not sent a byte within answer. QEMU's user network accepts the connection on
// the host at once and then tries to reach the guest, backing off for seconds while the
// guest has no listener yet: a fresh connection is faster than waiting that out.
func dialOnce(ctx context.Context, addr string, cfg *ssh.ClientConfig, answer time.Duration) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, sshHandshakeTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(answer))
	c, chans, reqs, err := ssh.NewClientConn(&answeredConn{Conn: conn}, addr, cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, context.Cause(ctx))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// answeredConn clears the read deadline once the first bytes arrived.
type answeredConn struct {
	net.Conn
	answered atomic.Bool
}

func (c *answeredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.answered.Swap(true) {
		c.Conn.SetReadDeadline(time.Time{})
	}
	return n, err
}

// tailBuffer keeps the last 64 KiB written to it (the guest's stderr).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 64<<10; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
