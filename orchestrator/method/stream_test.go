package method

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/guestinit/sshd"
	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// streamTree makes a small tree with an excluded directory, a symlink and size bytes of
// random content in a few files.
func streamTree(t *testing.T, size int) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"src/sub", ".git", "build/stage1", "build/stage2cross"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, size)
	rand.Read(data)
	files := map[string][]byte{
		"src/a.c": []byte("int a;\n"), "src/sub/big": data[:size/2], "build/stage2cross/bin": data[size/2:],
		".git/HEAD": []byte("ref\n"), "build/stage1/x": []byte("excluded\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("sub/big", filepath.Join(root, "src/link")); err != nil {
		t.Fatal(err)
	}
	return root
}

var seedExclude = []string{".git", "build/*", "!build/stage2cross"}

func seedMatcher(t *testing.T) *tree.Matcher {
	t.Helper()
	m, err := tree.NewMatcher(seedExclude)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSSHKeysPerCell(t *testing.T) {
	a, b := Config{Work: "/run/1/work/cell-a"}, Config{Work: "/run/1/work/cell-b"}
	if !sshKey(a, "host").Equal(sshKey(a, "host")) {
		t.Error("the same cell got two host keys: the job and the transfer would disagree")
	}
	for _, pair := range [][2]string{{"a host", "a client"}, {"a host", "b host"}, {"a client", "b client"}} {
		k := func(s string) []byte {
			c := map[string]Config{"a": a, "b": b}[s[:1]]
			return sshKey(c, s[2:])
		}
		if bytes.Equal(k(pair[0]), k(pair[1])) {
			t.Errorf("%s and %s share a key", pair[0], pair[1])
		}
	}
	s := sshdStep(Config{Work: a.Work, Mountpoint: "/root/tree", Params: Params{"cipher": "aes128-gcm@openssh.com"}})
	if err := (&protocol.Job{Steps: []protocol.Step{s}}).Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Listen != ":2222" || s.Cipher != "aes128-gcm@openssh.com" || s.Target != "/root/tree" ||
		!strings.Contains(s.HostKey, "OPENSSH PRIVATE KEY") || !strings.HasPrefix(s.AuthorizedKey, "ssh-ed25519 ") {
		t.Errorf("sshd step %+v", s)
	}
}

// gnuExtract is the guest's extraction done by GNU tar on the host.
func gnuExtract(t *testing.T) sshd.ExtractFunc {
	p, err := exec.LookPath("tar")
	if err != nil {
		testenv.Missing(t, "tar is not installed")
	}
	return func(ctx context.Context, r io.Reader, target string) (protocol.Result, int64, error) {
		cr := &countReader{r: r}
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, p, "-x", "-C", target)
		cmd.Stdin, cmd.Stderr = cr, &stderr
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, stderr.String())
		}
		return protocol.Result{}, cr.n, err
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// guestSSHD runs the agent's sshd for the cell c on a loopback port and sets c.HostPort.
func guestSSHD(t *testing.T, c *Config, extract sshd.ExtractFunc) <-chan error {
	t.Helper()
	srv, err := sshd.New(sshdStep(*c), extract, nil) // logging could outlive the test
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c.HostPort = ln.Addr().(*net.TCPAddr).Port
	done := make(chan error, 1)
	go func() {
		_, _, err := srv.Serve(context.Background(), ln)
		done <- err
	}()
	return done
}

func TestSSHTarTransfer(t *testing.T) {
	src := streamTree(t, 3<<20)
	m := seedMatcher(t)
	want, err := tree.DigestTree(context.Background(), src, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, cipher := range SSHCiphers {
		t.Run(cipher, func(t *testing.T) {
			dst := t.TempDir()
			c := Config{Params: Params{"cipher": cipher, "target": "tmpfs"}, Tree: src, Work: t.TempDir(), Mountpoint: dst,
				Owner: &tree.Owner{UID: os.Getuid(), GID: os.Getgid()}}
			served := guestSSHD(t, &c, gnuExtract(t))
			var log bytes.Buffer
			undo, err := runStep(context.Background(), stepOf(SSHTar{}, c, StepTransfer), Env{Log: &log, Matcher: m})
			if err != nil || undo != nil {
				t.Fatalf("transfer: %v (undo %v)\n%s", err, undo != nil, log.String())
			}
			if err := <-served; err != nil {
				t.Fatalf("guest: %v", err)
			}
			got, err := tree.DigestTree(context.Background(), dst, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("extracted %+v, want %+v", got, want)
			}
			if !strings.Contains(log.String(), "ssh-tar ("+cipher+"): connected after 1 attempts in ") {
				t.Errorf("host log: %q", log.String())
			}
		})
	}
}

func TestSSHTarFailures(t *testing.T) {
	defer func(d time.Duration) { streamConnect = d }(streamConnect)
	streamConnect = 3 * time.Second
	src := streamTree(t, 1<<20)
	m := seedMatcher(t)
	cell := func(cipher string) Config {
		return Config{Params: Params{"cipher": cipher}, Tree: src, Work: t.TempDir(), Mountpoint: t.TempDir()}
	}
	failing := func(ctx context.Context, r io.Reader, target string) (protocol.Result, int64, error) {
		io.CopyN(io.Discard, r, 4096)
		return protocol.Result{}, 4096, errors.New("no space left on device")
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, c *Config) <-chan error
		want  string
		fast  bool // fails at once, without retrying until streamConnect
		ends  bool // the guest's step ends too (else it keeps waiting for a good client)
	}{
		{"wrong host key", func(t *testing.T, c *Config) <-chan error {
			other := *c
			other.Work += "-another-cell"
			done := guestSSHD(t, &other, gnuExtract(t))
			c.HostPort = other.HostPort
			return done
		}, "the server's host key is not the one handed to the guest", true, false},
		{"other cipher in the guest", func(t *testing.T, c *Config) <-chan error {
			other := *c
			other.Params = Params{"cipher": "aes256-ctr"}
			done := guestSSHD(t, &other, gnuExtract(t))
			c.HostPort = other.HostPort
			return done
		}, "no common algorithm for client to server cipher", true, false},
		{"guest extraction fails", func(t *testing.T, c *Config) <-chan error { return guestSSHD(t, c, failing) },
			"guest tar -x -C " + "%s exited with status 1: vmfsbench-agent: no space left on device", true, true},
		{"the tree cannot be read", func(t *testing.T, c *Config) <-chan error {
			c.Tree = filepath.Join(c.Tree, "missing")
			return guestSSHD(t, c, gnuExtract(t))
		}, "tar: lstat " + "%t", true, true},
		{"nothing listens", func(t *testing.T, c *Config) <-chan error {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			c.HostPort = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			return nil
		}, "nothing listens on the forwarded port (has QEMU exited?)", true, false},
		{"the guest never answers", func(t *testing.T, c *Config) <-chan error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			c.HostPort = ln.Addr().(*net.TCPAddr).Port
			go func() { // like QEMU: accept, then drop the connection when the guest refuses it
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					time.AfterFunc(100*time.Millisecond, func() { conn.Close() })
				}
			}()
			return nil
		}, "the guest's sshd did not answer within 3s", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cell("chacha20-poly1305@openssh.com")
			served := tc.setup(t, &c)
			start := time.Now()
			_, err := runStep(context.Background(), stepOf(SSHTar{}, c, StepTransfer), Env{Log: io.Discard, Matcher: m})
			want := strings.ReplaceAll(strings.ReplaceAll(tc.want, "%s", c.Mountpoint), "%t", c.Tree)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err %v, want one containing %q", err, want)
			}
			if d := time.Since(start); tc.fast && d > 2*time.Second {
				t.Errorf("took %v: a final error was retried", d)
			}
			if served == nil {
				return
			}
			select {
			case err := <-served:
				if !tc.ends {
					t.Errorf("the guest's step ended (%v); it should wait for a good client", err)
				} else if err == nil {
					t.Error("the guest's step succeeded")
				}
			case <-time.After(time.Second):
				if tc.ends {
					t.Error("the guest's step did not end")
				}
			}
		})
	}
}

// fakeQEMU listens on a unix socket like QEMU's server chardev and reads what arrives into
// a counter, as fast as gate lets it.
type fakeQEMU struct {
	n    atomic.Int64
	gate chan struct{} // closed: read freely
	done chan struct{}
}

func newFakeQEMU(t *testing.T, sock string, paused bool) *fakeQEMU {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	q := &fakeQEMU{gate: make(chan struct{}), done: make(chan struct{})}
	if !paused {
		close(q.gate)
	}
	go func() {
		defer close(q.done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		for {
			if q.n.Load() >= 1<<20 {
				<-q.gate // a guest that stops reading after 1 MiB until released
			}
			n, err := conn.Read(buf)
			q.n.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	return q
}

func TestSerialTarTransfer(t *testing.T) {
	src := streamTree(t, 4<<20)
	m := seedMatcher(t)
	c := Config{Params: Params{"target": "tmpfs"}, Tree: src, Sockets: t.TempDir()}
	q := newFakeQEMU(t, sock(c, "data.sock"), true)
	var log bytes.Buffer
	type result struct{ err error }
	out := make(chan result, 1)
	go func() {
		_, err := runStep(context.Background(), stepOf(SerialTar{}, c, StepTransfer), Env{Log: &log, Matcher: m})
		out <- result{err}
	}()
	select {
	case r := <-out:
		t.Fatalf("the transfer ended (%v) while the guest had read only %d bytes", r.err, q.n.Load())
	case <-time.After(500 * time.Millisecond):
	}
	close(q.gate)
	var r result
	select {
	case r = <-out:
	case <-time.After(20 * time.Second):
		t.Fatal("the transfer did not end")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	got := q.n.Load()
	<-q.done
	var sent int64
	fmt.Sscanf(log.String()[strings.Index(log.String(), "sent "):], "sent %d tar bytes", &sent)
	if sent < 4<<20 || got != sent || q.n.Load() != sent {
		t.Errorf("sent %d bytes; the guest had read %d when the transfer ended, %d in all\n%s", sent, got, q.n.Load(), log.String())
	}
}

func TestSerialTarFailures(t *testing.T) {
	defer func(s, c time.Duration) { streamStall, streamConnect = s, c }(streamStall, streamConnect)
	streamStall, streamConnect = 500*time.Millisecond, time.Second
	src := streamTree(t, 4<<20)
	m := seedMatcher(t)
	t.Run("guest stops reading", func(t *testing.T) {
		c := Config{Tree: src, Sockets: t.TempDir()}
		newFakeQEMU(t, sock(c, "data.sock"), true)
		start := time.Now()
		_, err := runStep(context.Background(), stepOf(SerialTar{}, c, StepTransfer), Env{Log: io.Discard, Matcher: m})
		if err == nil || !strings.Contains(err.Error(), "the stream stalled: no progress for 500ms after") {
			t.Errorf("err %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("no socket: QEMU is gone", func(t *testing.T) {
		c := Config{Tree: src, Sockets: t.TempDir()}
		start := time.Now()
		_, err := runStep(context.Background(), stepOf(SerialTar{}, c, StepTransfer), Env{Log: io.Discard, Matcher: m})
		if err == nil || !strings.Contains(err.Error(), "connecting to QEMU's socket of the port: dial unix "+sock(c, "data.sock")) {
			t.Errorf("err %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v, want an immediate failure", d)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := Config{Tree: src, Sockets: t.TempDir()}
		newFakeQEMU(t, sock(c, "data.sock"), true)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := runStep(ctx, stepOf(SerialTar{}, c, StepTransfer), Env{Log: io.Discard, Matcher: m})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want the context's", err)
		}
	})
}

// TestStreamIntoTmpfsTooSmall: a stream into a tmpfs that cannot hold the filtered tree (half
// of the guest's memory) is refused by the plan with both sizes and the cures; one that fits,
// a disk target and an unknown tree size are not.
func TestStreamIntoTmpfsTooSmall(t *testing.T) {
	size := TreeSize{Files: 1000, Bytes: 900 << 20, Blocks: (1000 << 20) / ext4Block}
	for _, m := range []Method{SerialTar{}, SSHTar{}} {
		for _, tc := range []struct {
			target string
			memory int64
			size   TreeSize
			want   string
		}{
			{"tmpfs", 1 << 30, size, "the filtered tree takes about 1000 MiB in the guest's tmpfs (1000 files, 900 MiB of content), which holds at most 512 MiB: half of qemu.memory 1024 MiB. Use target: disk (a scratch disk sized from the tree), or give the guest at least 2304 MiB of memory (qemu.memory)"},
			{"tmpfs", 4 << 30, size, ""},
			{"disk", 1 << 30, size, ""},
			{"tmpfs", 1 << 30, TreeSize{}, ""},
		} {
			p, err := m.Plan(Config{Params: Params{"target": tc.target, "cipher": SSHCiphers[0]}, Memory: tc.memory, Size: tc.size,
				Work: t.TempDir(), Sockets: t.TempDir(), Mountpoint: "/root/tree"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Refused != tc.want {
				t.Errorf("%s target %s memory %d: refused %q, want %q", m.Name(), tc.target, tc.memory, p.Refused, tc.want)
			}
		}
	}
}
