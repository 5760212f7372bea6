package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"github.com/vmfsbench/vmfsbench/internal/sshwire"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/crypto/ssh"
)

// keys is a host key and a client key as the host hands them to the agent.
type keys struct {
	hostPEM    string
	hostPub    ssh.PublicKey
	client     ssh.Signer
	clientLine string
}

func newKeys(t *testing.T) keys {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		t.Fatal(err)
	}
	return keys{hostPEM: string(pem.EncodeToMemory(block)), hostPub: hostSigner.PublicKey(),
		client: client, clientLine: string(ssh.MarshalAuthorizedKey(client.PublicKey()))}
}

func TestNewErrors(t *testing.T) {
	k := newKeys(t)
	two := k.clientLine + k.clientLine
	for _, tc := range []struct {
		name string
		s    protocol.Step
		want string
	}{
		{"bad host key", protocol.Step{HostKey: "nope", AuthorizedKey: k.clientLine, Target: "/t"}, "sshd: host key: "},
		{"bad authorized key", protocol.Step{HostKey: k.hostPEM, AuthorizedKey: "ssh-ed25519 !!!", Target: "/t"}, "sshd: authorized key: "},
		{"two authorized keys", protocol.Step{HostKey: k.hostPEM, AuthorizedKey: two, Target: "/t"}, "sshd: authorized key: more than one key given"},
		{"relative target", protocol.Step{HostKey: k.hostPEM, AuthorizedKey: k.clientLine, Target: "t"}, `sshd: target "t" is not an absolute path`},
		{"unknown cipher", protocol.Step{HostKey: k.hostPEM, AuthorizedKey: k.clientLine, Target: "/t", Cipher: "rot13"}, `sshd: cipher "rot13" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.s, nil, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %v, want one starting %q", err, tc.want)
			}
		})
	}
}

// recorder is an ExtractFunc that keeps what it read.
type recorder struct {
	mu     sync.Mutex
	calls  int
	target string
	data   []byte
	err    error
}

func (r *recorder) extract(_ context.Context, in io.Reader, target string) (protocol.Result, int64, error) {
	data, err := io.ReadAll(in)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.target, r.data = target, data
	if err == nil {
		err = r.err
	}
	var res protocol.Result
	res.Files, res.Bytes = 1, int64(len(data))
	return res, int64(len(data)), err
}

type served struct {
	res protocol.Result
	n   int64
	err error
}

// serve starts the server of step on a loopback port.
func serve(t *testing.T, ctx context.Context, s protocol.Step, extract ExtractFunc) (string, <-chan served, *[]string) {
	t.Helper()
	var logs []string
	var mu sync.Mutex
	srv, err := New(s, extract, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, format)
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan served, 1)
	go func() {
		res, n, err := srv.Serve(ctx, ln)
		out <- served{res, n, err}
	}()
	return ln.Addr().String(), out, &logs
}

func clientConfig(k keys, auth ssh.AuthMethod, ciphers ...string) *ssh.ClientConfig {
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(k.hostPub), Timeout: 10 * time.Second}
	cfg.Ciphers = ciphers
	return cfg
}

// run execs cmd with stdin and returns the exit status and stderr.
func run(t *testing.T, addr string, cfg *ssh.ClientConfig, cmd, stdin string) (int, string) {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	sess.Stdin, sess.Stderr = strings.NewReader(stdin), &stderr
	err = sess.Run(cmd)
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &exit):
		return exit.ExitStatus(), stderr.String()
	}
	t.Fatalf("run %q: %v", cmd, err)
	return -1, ""
}

func wait(t *testing.T, out <-chan served) served {
	t.Helper()
	select {
	case s := <-out:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return")
	}
	return served{}
}

func TestServeRunsOneCommand(t *testing.T) {
	k := newKeys(t)
	for _, cipher := range []string{"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes128-ctr"} {
		t.Run(cipher, func(t *testing.T) {
			rec := &recorder{}
			step := protocol.Step{Kind: protocol.StepSSHD, HostKey: k.hostPEM, AuthorizedKey: k.clientLine, Target: "/root/my tree", Cipher: cipher}
			addr, out, logs := serve(t, context.Background(), step, rec.extract)

			// Refused before the command runs, and the server keeps waiting: a wrong client
			// key, a password, a cipher the server does not offer, a session without exec.
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			otherSigner, _ := ssh.NewSignerFromKey(other)
			for _, cfg := range []*ssh.ClientConfig{
				clientConfig(k, ssh.PublicKeys(otherSigner), cipher),
				clientConfig(k, ssh.Password("root"), cipher),
				clientConfig(k, ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil }), cipher),
				clientConfig(k, ssh.PublicKeys(k.client), "aes256-ctr"),
			} {
				if c, err := ssh.Dial("tcp", addr, cfg); err == nil {
					c.Close()
					t.Fatalf("a client with %v got in", cfg.Auth)
				}
			}
			c, err := ssh.Dial("tcp", addr, clientConfig(k, ssh.PublicKeys(k.client), cipher))
			if err != nil {
				t.Fatal(err)
			}
			sess, _ := c.NewSession()
			if err := sess.Shell(); err == nil {
				t.Error("a shell was granted")
			}
			if ok, _, _ := c.SendRequest("tcpip-forward", true, nil); ok {
				t.Error("a port forward was granted")
			}
			sess.Close()
			c.Close()

			code, stderr := run(t, addr, clientConfig(k, ssh.PublicKeys(k.client), cipher), sshwire.TarCommand("/root/my tree"), "the stream")
			if code != 0 || stderr != "" {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			s := wait(t, out)
			if s.err != nil || s.n != int64(len("the stream")) || s.res.Files != 1 {
				t.Errorf("Serve = %+v", s)
			}
			if rec.calls != 1 || rec.target != "/root/my tree" || string(rec.data) != "the stream" {
				t.Errorf("extract called %d times with %q, %q", rec.calls, rec.target, rec.data)
			}
			if len(*logs) != 5 {
				t.Errorf("%d dropped connections logged, want 5", len(*logs))
			}
		})
	}
}

func TestServeFailures(t *testing.T) {
	k := newKeys(t)
	step := protocol.Step{Kind: protocol.StepSSHD, HostKey: k.hostPEM, AuthorizedKey: k.clientLine, Target: "/t"}
	for _, tc := range []struct {
		name, cmd  string
		extractErr error
		stderr     string
		serveErr   string
	}{
		{"other command", "rm -rf /", nil, "vmfsbench-agent: refusing command \"rm -rf /\": not \"tar -x -C TARGET\"\n",
			`refusing command "rm -rf /": not "tar -x -C TARGET"`},
		{"other target", "tar -x -C /etc", nil, "vmfsbench-agent: refusing command \"tar -x -C /etc\": target /etc is not the step's /t\n",
			`refusing command "tar -x -C /etc": target /etc is not the step's /t`},
		{"extraction fails", "tar -x -C /t", errors.New("disk full"), "vmfsbench-agent: disk full\n", "disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{err: tc.extractErr}
			addr, out, _ := serve(t, context.Background(), step, rec.extract)
			code, stderr := run(t, addr, clientConfig(k, ssh.PublicKeys(k.client)), tc.cmd, "x")
			if code != 1 || stderr != tc.stderr {
				t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, tc.stderr)
			}
			if s := wait(t, out); s.err == nil || s.err.Error() != tc.serveErr {
				t.Errorf("Serve error %v, want %q", s.err, tc.serveErr)
			}
		})
	}
	t.Run("nobody connects", func(t *testing.T) {
		defer func(d time.Duration) { AcceptTimeout = d }(AcceptTimeout)
		AcceptTimeout = 200 * time.Millisecond
		_, out, _ := serve(t, context.Background(), step, (&recorder{}).extract)
		if s := wait(t, out); s.err == nil || !strings.Contains(s.err.Error(), "no session ran the command within 200ms") {
			t.Errorf("Serve error %v", s.err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		_, out, _ := serve(t, ctx, step, (&recorder{}).extract)
		cancel()
		if s := wait(t, out); !errors.Is(s.err, context.Canceled) {
			t.Errorf("Serve error %v, want context.Canceled", s.err)
		}
	})
}
