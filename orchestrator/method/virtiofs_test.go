package method

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// TestMain lets the test binary play a virtiofsd: `method.test fake-virtiofsd FLAVOUR MODE
// ARGS...` answers --version and --help with FLAVOUR's real texts (testdata/virtiofsd) and
// otherwise behaves as MODE says.
func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == "fake-virtiofsd" {
		os.Exit(fakeVirtiofsd(os.Args[2], os.Args[3], os.Args[4:]))
	}
	os.Exit(m.Run())
}

// fakeTexts maps a flavour of fake daemon to its testdata texts.
var fakeTexts = map[string]string{"c": "c-7.2", "rust": "rust-1.13", "rust-old": "rust-1.1"}

func fakeVirtiofsd(flavor, mode string, args []string) int {
	socket := ""
	for _, a := range args {
		switch {
		case a == "--version" || a == "--help":
			b, err := os.ReadFile(filepath.Join(os.Getenv("FAKE_VIRTIOFSD_TESTDATA"), fakeTexts[flavor]+"."+strings.TrimPrefix(a, "--")))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			os.Stdout.Write(b)
			return 0
		case strings.HasPrefix(a, "--socket-path="):
			socket = strings.TrimPrefix(a, "--socket-path=")
		}
	}
	switch mode {
	case "die": // a daemon that refuses its command line
		fmt.Println("fuse: unknown option(s): `-o bogus'")
		fmt.Fprintln(os.Stderr, "virtiofsd: cannot start")
		return 3
	case "silent": // never listens
		time.Sleep(time.Hour)
		return 0
	case "stubborn-child": // the sandboxed child of "stubborn"
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return 0
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Close()
	fmt.Println("virtio_session_mount: Waiting for vhost-user socket connection...")
	switch mode {
	case "serve": // listens until told to stop
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		fmt.Println("virtio_loop: Exit")
	case "stubborn": // ignores SIGTERM and has a child in its group that does too
		signal.Ignore(syscall.SIGTERM)
		child := exec.Command(os.Args[0], "fake-virtiofsd", flavor, "stubborn-child", "--socket-path="+socket)
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		time.Sleep(time.Hour)
	case "die-later": // dies under a running guest
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintln(os.Stderr, "fv_panic: libvhost-user: Invalid vring_addr message")
		return 1
	case "hangup": // QEMU hangs up at the end of a cell
		time.Sleep(300 * time.Millisecond)
		fmt.Println("virtio_loop: Exit")
		return 0
	}
	return 0
}

// fakeDaemon writes an executable script that runs the test binary as a fake daemon.
func fakeDaemon(t *testing.T, dir, name, flavor, mode string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	testdata, err := filepath.Abs("testdata/virtiofsd")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	script := fmt.Sprintf("#!/bin/sh\nFAKE_VIRTIOFSD_TESTDATA=%s exec %s fake-virtiofsd %s %s \"$@\"\n", testdata, exe, flavor, mode)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindVirtiofsdTellsFlavours(t *testing.T) {
	dir := t.TempDir()
	notDaemon := filepath.Join(dir, "not-a-daemon")
	if err := os.WriteFile(notDaemon, []byte("#!/bin/sh\necho 'hello 1.0'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, flavor, version, err string
		readonly                   bool
	}{
		{fakeDaemon(t, dir, "c", "c", "serve"), FlavorC, "virtiofsd version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)", "", false},
		{fakeDaemon(t, dir, "rust", "rust", "serve"), FlavorRust, "virtiofsd 1.13.3", "", true},
		{fakeDaemon(t, dir, "rust-old", "rust-old", "serve"), FlavorRust, "virtiofsd backend 1.1.0", "", false},
		{notDaemon, FlavorRust, "hello 1.0", "not a virtiofsd", false},
		{broken, FlavorRust, "", "cannot run it", false},
		{filepath.Join(dir, "missing"), FlavorRust, "", "does not exist", false},
	} {
		d := findVirtiofsd(tc.path)
		if d.Path != tc.path || d.Flavor != tc.flavor || d.Version != tc.version {
			t.Errorf("%s: got path %s flavour %q version %q, want flavour %q version %q", tc.path, d.Path, d.Flavor, d.Version, tc.flavor, tc.version)
		}
		if tc.err == "" && d.Err != nil || tc.err != "" && (d.Err == nil || !strings.Contains(d.Err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want %q", tc.path, d.Err, tc.err)
		}
		if tc.err == "" && d.has("--readonly") != tc.readonly {
			t.Errorf("%s: has --readonly = %v", tc.path, !tc.readonly)
		}
	}
	// Debian 12's qemu-system-common installs the C daemon there; Debian 13 links the path
	// to its Rust daemon.
	want := FlavorC
	if real, err := filepath.EvalSymlinks(cVirtiofsd); err == nil && real != cVirtiofsd {
		want = FlavorRust
	}
	if d := findVirtiofsd(cVirtiofsd); d.Err == nil && d.Flavor != want {
		t.Errorf("%s taken for %q (%s), want %q", cVirtiofsd, d.Flavor, d.Version, want)
	}
}

func TestFindVirtiofsdSearchesPath(t *testing.T) {
	dir := t.TempDir()
	want := fakeDaemon(t, dir, "virtiofsd", "rust", "serve")
	t.Setenv("PATH", dir+":/usr/bin:/bin")
	for _, name := range []string{"auto", "", "virtiofsd"} {
		if d := findVirtiofsd(name); d.Path != want || d.Flavor != FlavorRust || d.Err != nil {
			t.Errorf("findVirtiofsd(%q) = %s %s %v, want the Rust daemon on PATH %s", name, d.Path, d.Flavor, d.Err, want)
		}
	}
	if d := findVirtiofsd("no-such-virtiofsd"); d.Err == nil {
		t.Errorf("a missing daemon name was found: %+v", d)
	}
}

func TestVirtiofsdArgv(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("testdata/virtiofsd/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	c := Virtiofsd{Path: "/usr/lib/qemu/virtiofsd", Flavor: FlavorC, help: read("c-7.2.help")}
	rust := Virtiofsd{Path: "/usr/libexec/virtiofsd", Flavor: FlavorRust, help: read("rust-1.13.help")}
	old := Virtiofsd{Path: "/usr/bin/virtiofsd", Flavor: FlavorRust, help: read("rust-1.1.help")}
	for _, tc := range []struct {
		d    Virtiofsd
		o    DaemonOptions
		want string
	}{
		{c, DaemonOptions{Socket: "/s/v.sock", Tree: "/t", Cache: "never", Threads: 16, Sandbox: "namespace"},
			"/usr/lib/qemu/virtiofsd --socket-path=/s/v.sock -o source=/t -o cache=none -o sandbox=namespace --thread-pool-size=16 --rlimit-nofile=1048576"},
		{c, DaemonOptions{Socket: "/s/v.sock", Tree: `/a,b\c`, Cache: "always", Sandbox: "chroot"},
			`/usr/lib/qemu/virtiofsd --socket-path=/s/v.sock -o source=/a\,b\\c -o cache=always -o sandbox=chroot --thread-pool-size=0 --rlimit-nofile=1048576`},
		{c, DaemonOptions{Socket: "/s/v.sock", Tree: "/t", Cache: "auto"},
			"/usr/lib/qemu/virtiofsd --socket-path=/s/v.sock -o source=/t -o cache=auto --thread-pool-size=0 --rlimit-nofile=1048576"},
		{rust, DaemonOptions{Socket: "/s/v.sock", Tree: "/a,b", Cache: "never", Threads: 0, Sandbox: "namespace"},
			"/usr/libexec/virtiofsd --socket-path=/s/v.sock --shared-dir=/a,b --cache=never --sandbox=namespace --readonly --thread-pool-size=0"},
		{rust, DaemonOptions{Socket: "/s/v.sock", Tree: "/t", Cache: "always", Threads: 64, Sandbox: "none"},
			"/usr/libexec/virtiofsd --socket-path=/s/v.sock --shared-dir=/t --cache=always --sandbox=none --readonly --thread-pool-size=64"},
		{old, DaemonOptions{Socket: "/s/v.sock", Tree: "/t", Cache: "auto", Threads: 1, Sandbox: "none"},
			"/usr/bin/virtiofsd --socket-path=/s/v.sock --shared-dir=/t --cache=auto --sandbox=none --thread-pool-size=1"},
	} {
		if got := strings.Join(tc.d.Argv(tc.o), " "); got != tc.want {
			t.Errorf("%s %+v:\ngot  %s\nwant %s", tc.d.Flavor, tc.o, got, tc.want)
		}
	}
}

func TestSandboxFor(t *testing.T) {
	saved := effectiveCaps
	t.Cleanup(func() { effectiveCaps = saved })
	const admin, chroot = 1 << capSysAdmin, 1 << capSysChroot
	for _, tc := range []struct {
		caps   uint64
		flavor string
		want   string
	}{
		{0x1fffeffffff, FlavorC, "namespace"}, // root in this lab: all but CAP_SYS_RESOURCE
		{0x1fffeffffff, FlavorRust, "namespace"},
		{chroot, FlavorC, "chroot"}, // a root without CAP_SYS_ADMIN, in a container
		{chroot, FlavorRust, "none"},
		{0, FlavorRust, "none"}, // an ordinary user
		{0, FlavorC, "namespace"},
		{admin, FlavorC, "namespace"},
	} {
		effectiveCaps = func() uint64 { return tc.caps }
		if got := SandboxFor(tc.flavor); got != tc.want {
			t.Errorf("caps %#x, %s daemon: sandbox %s, want %s", tc.caps, tc.flavor, got, tc.want)
		}
	}
}

func TestSocketListening(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "l.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := socketListening(p); !ok || err != nil {
		t.Errorf("a listening socket: %v, %v", ok, err)
	}
	if ok, _ := socketListening(p + "x"); ok {
		t.Error("a path that is a prefix of another socket's counts as listening")
	}
	l.Close()
	if ok, _ := socketListening(p); ok {
		t.Error("a closed socket still listens")
	}
	// Bound but not listening, as between a daemon's bind and listen.
	g, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "g.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if ok, _ := socketListening(filepath.Join(dir, "g.sock")); ok {
		t.Error("a bound datagram socket counts as listening")
	}
}

// lockedBuffer is a log the daemon's output goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemonConfig is a Config for a daemon serving tree, its socket in a fresh short directory.
func daemonConfig(t *testing.T, daemon, tree string) Config {
	t.Helper()
	sockets, err := os.MkdirTemp("", "vfsd.")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockets) })
	return Config{Tree: tree, Sockets: sockets, Work: t.TempDir(),
		Params: Params{"cache": "always", "thread_pool_size": int64(0), "queue_size": int64(1024), "daemon": daemon}}
}

// startStep runs the start-daemon step of c as the runner does.
func startStep(t *testing.T, c Config, log *lockedBuffer) (func(), error) {
	t.Helper()
	steps := planOf(Virtiofs{}, c).Steps
	if len(steps) != 1 || steps[0].Kind != StepStartDaemon {
		t.Fatalf("host steps %+v", steps)
	}
	return runStep(context.Background(), steps[0], Env{Log: log})
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(pgid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := unix.Getpgid(pid); err == nil && g == pgid {
			if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); !strings.Contains(string(st), ") Z ") {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// daemonPid finds the pid of the process that has the socket path in its command line.
func daemonPid(t *testing.T, socket string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), "--socket-path="+socket+"\x00") && !strings.Contains(string(b), "stubborn-child") {
			pid, _ := strconv.Atoi(e.Name())
			return pid
		}
	}
	t.Fatalf("no process serves %s", socket)
	return 0
}

func needCDaemon(t *testing.T) {
	t.Helper()
	if testenv.Release() >= 13 {
		testenv.Inapplicable(t, "Debian %d has no C virtiofsd (QEMU 8.0 dropped it): its Rust daemon is tested instead", testenv.Release())
	}
	if d := findVirtiofsd(cVirtiofsd); d.Err != nil {
		testenv.Missing(t, "%v (install qemu-system-common)", d.Err)
	}
	testenv.Root(t, "the C virtiofsd")
}

// TestRealCDaemonStartsAndStops starts QEMU's C daemon as a cell does: it must listen, have
// its soft open-file limit raised to its hard limit (from a soft limit of 1024 inherited from
// this process), and its undo must leave no process, socket or pid file. The tree's name has
// a comma, which the daemon's -o list must get escaped.
func TestRealCDaemonStartsAndStops(t *testing.T) {
	needCDaemon(t)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max <= 1024 {
		testenv.Inapplicable(t, "hard open-file limit %d: nothing to raise", lim.Max)
	}
	low := syscall.Rlimit{Cur: 1024, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })

	tree := filepath.Join(t.TempDir(), "a,tree")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	c := daemonConfig(t, cVirtiofsd, tree)
	log := &lockedBuffer{}
	undo, err := startStep(t, c, log)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, log)
	}
	socket := Virtiofs{}.socket(c)
	pid := daemonPid(t, socket)
	var got unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &got); err != nil {
		t.Fatal(err)
	}
	if got.Cur != got.Max || got.Cur < lim.Max {
		t.Errorf("daemon's open-file limit %d (hard %d), want at least %d", got.Cur, got.Max, lim.Max)
	}
	if _, err := os.Stat(cPidFile(socket)); err != nil {
		t.Errorf("the C daemon wrote no pid file: %v", err)
	}
	start := time.Now()
	undo()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopping a daemon that obeys SIGTERM took %s", d)
	}
	if left := groupMembers(pid); len(left) > 0 {
		t.Errorf("processes of the daemon's group left: %v", left)
	}
	for _, p := range []string{socket, cPidFile(socket)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	for _, want := range []string{"$ " + cVirtiofsd, "Waiting for vhost-user socket connection", "open-file limit", "stopped by SIGTERM"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	undo() // a second undo is harmless
}

func TestDaemonFailuresAreClear(t *testing.T) {
	saved := daemonReadyTimeout
	daemonReadyTimeout = time.Second
	t.Cleanup(func() { daemonReadyTimeout = saved })
	dir := t.TempDir()
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"die", []string{"virtiofsd exited before listening on", "exit status 3", "its output ends: fuse: unknown option(s): `-o bogus' | virtiofsd: cannot start"}},
		{"silent", []string{"virtiofsd did not listen on", "within 1s"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := daemonConfig(t, fakeDaemon(t, dir, tc.mode, "c", tc.mode), t.TempDir())
			log := &lockedBuffer{}
			start := time.Now()
			undo, err := startStep(t, c, log)
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if undo == nil {
				t.Fatal("no undo returned with the error")
			}
			undo()
			if d := time.Since(start); d > daemonReadyTimeout+2*time.Second {
				t.Errorf("failing took %s", d)
			}
			if left := processesWith(Virtiofs{}.socket(c)); len(left) > 0 {
				t.Errorf("left running: %v", left)
			}
		})
	}
	t.Run("interrupted", func(t *testing.T) {
		c := daemonConfig(t, fakeDaemon(t, dir, "silent", "c", "silent"), t.TempDir())
		steps := planOf(Virtiofs{}, c).Steps
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		undo, err := runStep(ctx, steps[0], Env{Log: &lockedBuffer{}})
		if err == nil || !strings.Contains(err.Error(), "interrupted while waiting for virtiofsd") {
			t.Errorf("error %v", err)
		}
		undo()
		if left := processesWith(Virtiofs{}.socket(c)); len(left) > 0 {
			t.Errorf("left running: %v", left)
		}
	})
}

// TestStopKillsAStubbornGroup: a daemon that ignores SIGTERM, with a child in its group that
// does too, is killed after the grace period; undo does not hang.
func TestStopKillsAStubbornGroup(t *testing.T) {
	saved := daemonStopGrace
	daemonStopGrace = 300 * time.Millisecond
	t.Cleanup(func() { daemonStopGrace = saved })
	c := daemonConfig(t, fakeDaemon(t, t.TempDir(), "virtiofsd", "c", "stubborn"), t.TempDir())
	log := &lockedBuffer{}
	undo, err := startStep(t, c, log)
	if err != nil {
		t.Fatal(err)
	}
	socket := Virtiofs{}.socket(c)
	pid := daemonPid(t, socket)
	deadline := time.Now().Add(5 * time.Second)
	for len(groupMembers(pid)) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(groupMembers(pid)); n != 2 {
		t.Fatalf("%d processes in the daemon's group, want the daemon and its child", n)
	}
	start := time.Now()
	undo()
	if d := time.Since(start); d > daemonStopGrace+time.Second {
		t.Errorf("stopping took %s", d)
	}
	if left := groupMembers(pid); len(left) > 0 {
		t.Errorf("left running: %v", left)
	}
	if !strings.Contains(log.String(), "killed after ignoring SIGTERM for 300ms") {
		t.Errorf("log:\n%s", log)
	}
	if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left: %v", err)
	}
}

// TestDaemonDeathIsReported: a daemon that dies while the guest runs leaves its status and
// last words in the host log and is reported through onDeath; one that exits 0 when QEMU
// hangs up is not reported.
func TestDaemonDeathIsReported(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		mode, log, death string
	}{
		{"die-later", "exited by itself: exit status 1; its output ends: virtio_session_mount: Waiting for vhost-user socket connection... | fv_panic: libvhost-user: Invalid vring_addr message",
			"died while the guest ran: exit status 1; its output ends: virtio_session_mount: Waiting for vhost-user socket connection... | fv_panic: libvhost-user: Invalid vring_addr message"},
		{"hangup", "exited by itself: exit status 0\n", ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			socket := filepath.Join(dir, tc.mode+".sock")
			argv := []string{fakeDaemon(t, dir, tc.mode, "c", tc.mode), "--socket-path=" + socket}
			log := &lockedBuffer{}
			deaths := make(chan error, 2)
			d, err := startDaemon(context.Background(), argv, socket, FlavorC, log, func(err error) { deaths <- err })
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-d.watched:
			case <-time.After(5 * time.Second):
				t.Fatal("the daemon did not exit")
			}
			d.stop()
			if !strings.Contains(log.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, log)
			}
			close(deaths)
			var got []string
			for err := range deaths {
				got = append(got, err.Error())
			}
			switch {
			case tc.death == "" && len(got) > 0:
				t.Errorf("a normal exit reported as a death: %q", got)
			case tc.death != "" && (len(got) != 1 || !strings.Contains(got[0], tc.death)):
				t.Errorf("deaths reported: %q, want one with %q", got, tc.death)
			}
		})
	}
}

func TestStartDaemonRefuses(t *testing.T) {
	c := daemonConfig(t, "auto", t.TempDir())
	saved := effectiveCaps
	effectiveCaps = func() uint64 { return 0 } // an ordinary user
	c.Params["daemon"] = fakeDaemon(t, t.TempDir(), "virtiofsd", "c", "serve")
	steps := planOf(Virtiofs{}, c).Steps
	_, err := runStep(context.Background(), steps[0], Env{})
	effectiveCaps = saved
	if err == nil || !strings.Contains(err.Error(), "must run as root") {
		t.Errorf("the C daemon without root: %v", err)
	}
	c.Params["daemon"] = filepath.Join(t.TempDir(), "nothing")
	steps = planOf(Virtiofs{}, c).Steps
	if _, err := runStep(context.Background(), steps[0], Env{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing daemon: %v", err)
	}
}

func TestWarnsOfTheCDaemonsThreadPool(t *testing.T) {
	dir := t.TempDir()
	c, rust := fakeDaemon(t, dir, "c", "c", "serve"), fakeDaemon(t, dir, "rust", "rust", "serve")
	for _, tc := range []struct {
		daemon, cache string
		threads       int64
		warns         bool
	}{
		{c, "never", 16, true},
		{c, "never", 64, true},
		{c, "never", 2, false},
		{c, "always", 16, false},
		{c, "auto", 64, false},
		{rust, "never", 16, false},
	} {
		cfg := Config{Params: Params{"cache": tc.cache, "thread_pool_size": tc.threads, "daemon": tc.daemon}}
		got := strings.Join(planOf(Virtiofs{}, cfg).Warnings, "\n")
		if strings.Contains(got, "seccomp") != tc.warns {
			t.Errorf("%s daemon, cache %s, %d threads: warnings %q", filepath.Base(tc.daemon), tc.cache, tc.threads, got)
		}
	}
}

// processesWith lists live processes whose command line contains s.
func processesWith(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); !strings.Contains(string(st), ") Z ") {
			out = append(out, e.Name())
		}
	}
	return out
}
