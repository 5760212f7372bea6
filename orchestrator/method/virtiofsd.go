package method

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// Flavours of virtiofsd: the C daemon QEMU shipped until 8.0 (Debian 12 installs it at
// /usr/lib/qemu/virtiofsd) and the Rust daemon that replaced it.
const (
	FlavorC    = "c"
	FlavorRust = "rust"
)

// Virtiofsd is a virtiofs daemon found on the host. The C and Rust daemons take different
// flags; Argv speaks the right dialect.
type Virtiofsd struct {
	Path    string
	Flavor  string // FlavorC or FlavorRust
	Version string // the first line of its --version, "" if it could not be run
	// Loader, when not empty, runs Path: the loader and library path of a root fetched from
	// Debian's archive (vmfsbench tool fetch virtiofsd), whose C library is not the host's.
	Loader []string
	// Origin says where the daemon comes from: "host", or the fetched package and suite.
	Origin string
	// Fallback, for daemon: auto when the host's daemon is the C one, is the fetched Rust
	// daemon: it serves a tree over the C daemon's open-file limit.
	Fallback *Virtiofsd `json:",omitempty"`
	// Reserve is how many descriptors the Rust daemon keeps for itself besides one per
	// pool thread (1.13: 609); it refuses to start under Reserve+max(threads,1). Probed by
	// starting it with --rlimit-nofile=1; 0 when unknown or for the C daemon.
	Reserve int `json:",omitempty"`
	// Err says why the daemon cannot be used (missing, not a virtiofsd); Path and Flavor
	// then still describe the command a plan shows.
	Err  error
	help string // its --help text, for the flags that differ between versions
}

// cVirtiofsd is where Debian's qemu-system packages install the C daemon.
const cVirtiofsd = "/usr/lib/qemu/virtiofsd"

// rustVirtiofsd is where Fedora and Debian 13 install the Rust daemon.
const rustVirtiofsd = "/usr/libexec/virtiofsd"

var (
	inspectMu    sync.Mutex
	inspectCache = map[string]Virtiofsd{}
)

// inspectVirtiofsd runs path --version and --help once per binary (path, size and mtime)
// and tells the flavour from the answers.
func inspectVirtiofsd(path string) Virtiofsd {
	fi, err := os.Stat(path)
	if err != nil {
		d := Virtiofsd{Path: path, Flavor: FlavorRust, Err: fmt.Errorf("virtiofsd %s: %w", path, err)}
		if path == cVirtiofsd {
			d.Flavor = FlavorC
			d.Err = fmt.Errorf("virtiofsd %s: %w (Debian's qemu-system-common installs it; or give the method a daemon: PATH)", path, err)
		}
		return d
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	inspectMu.Lock()
	defer inspectMu.Unlock()
	if d, ok := inspectCache[key]; ok {
		return d
	}
	d := Virtiofsd{Path: path}
	d.Loader, d.Origin = fetchedLoader(path)
	version, verr := probe(append(slices.Clone(d.Loader), path, "--version"))
	help, herr := probe(append(slices.Clone(d.Loader), path, "--help"))
	d.Version, _, _ = strings.Cut(strings.TrimSpace(version), "\n")
	d.help = help
	d.Flavor = virtiofsdFlavor(version, help)
	switch {
	case d.Flavor != "":
	case verr != nil && herr != nil:
		d.Err = fmt.Errorf("virtiofsd %s: cannot run it: %w", path, errors.Join(verr, herr))
	default:
		d.Err = fmt.Errorf("virtiofsd %s: not a virtiofsd (--version says %q)", path, d.Version)
	}
	if d.Flavor == "" {
		d.Flavor = FlavorRust
		if path == cVirtiofsd {
			d.Flavor = FlavorC
		}
	}
	if d.Flavor == FlavorRust && d.Err == nil && d.has("--rlimit-nofile") {
		d.Reserve = probeReserve(d)
	}
	inspectCache[key] = d
	return d
}

// reserveRE is the Rust daemon's refusal of a limit below what it keeps for itself.
var reserveRE = regexp.MustCompile(`must be at least (\d+)`)

// probeReserve starts the Rust daemon with one open file allowed and one pool thread: it
// exits at once saying how many it needs (INTERNAL_FD_RESERVE plus the thread), before it
// listens or enters its sandbox. The socket it may leave is in a directory removed after.
func probeReserve(d Virtiofsd) int {
	dir, err := tmpdir.Make("virtiofsd-probe")
	if err != nil {
		return 0
	}
	defer os.RemoveAll(dir)
	out, _ := probe(append(slices.Clone(d.Loader), d.Path, "--socket-path="+filepath.Join(dir, "s.sock"),
		"--shared-dir="+dir, "--rlimit-nofile=1", "--thread-pool-size=1"))
	m := reserveRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return max(n-1, 0)
}

// canRaiseNoFile says whether this process may raise its hard open-file limit, and so a
// daemon it starts may: it tries, by one, and puts the limit back. CAP_SYS_RESOURCE in the
// effective set is not enough to know (a container may refuse it all the same).
var canRaiseNoFile = func() bool {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) != nil {
		return false
	}
	if lim.Max == unix.RLIM_INFINITY {
		return true
	}
	up := unix.Rlimit{Cur: lim.Cur, Max: lim.Max + 1}
	if unix.Setrlimit(unix.RLIMIT_NOFILE, &up) != nil {
		return false
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	return true
}

// probe runs argv (the daemon and one flag) and returns what it printed (both daemons print
// --help to stdout; errors go to stderr, kept for the message).
func probe(argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return string(out), nil
}

// virtiofsdFlavor tells the daemons apart by what they print. The C daemon answers --version
// with "virtiofsd version 7.2.22 ..." and "using FUSE kernel interface version 7.36" and takes
// its share as "-o source=PATH"; the Rust daemon answers "virtiofsd 1.13.3" (older releases
// "virtiofsd backend 1.1.0") and takes "--shared-dir". "" means neither.
func virtiofsdFlavor(version, help string) string {
	switch {
	case strings.Contains(help, "--shared-dir"):
		return FlavorRust
	case strings.Contains(version, "using FUSE kernel interface") || strings.Contains(help, "-o source=PATH"):
		return FlavorC
	}
	return ""
}

// has reports whether the daemon's --help mentions flag. A daemon whose help could not be
// read is taken to have it, so a plan shows the full command.
func (d Virtiofsd) has(flag string) bool {
	return d.help == "" || strings.Contains(d.help, flag)
}

// DaemonOptions are what a virtiofsd is asked to do.
type DaemonOptions struct {
	Socket  string // the vhost-user socket it listens on
	Tree    string // the shared directory
	Cache   string // always, auto, metadata (Rust only) or never
	Threads int    // thread pool size; 0 serves requests on the queue thread
	Sandbox string // namespace, chroot or none (see SandboxFor)
	// FileHandles is the Rust daemon's --inode-file-handles (never, prefer, mandatory); ""
	// leaves the flag out. With file handles the daemon keeps no descriptor per inode.
	FileHandles string
	// Owner, when set, is the guest's owner of every file: the Rust daemon (1.13+) maps every
	// host uid and gid to it (--translate-uid/--translate-gid squash-host).
	Owner *[2]int
}

// CanTranslateOwners says whether the daemon maps owners itself (--translate-uid, Rust 1.13+).
func (d Virtiofsd) CanTranslateOwners() bool {
	return d.Flavor == FlavorRust && d.help != "" && strings.Contains(d.help, "--translate-uid")
}

// CanFileHandles says whether the daemon may reference inodes by file handles here: the Rust
// daemon's --inode-file-handles, and CAP_DAC_READ_SEARCH (open_by_handle_at) to use them.
func (d Virtiofsd) CanFileHandles() bool {
	return d.Flavor == FlavorRust && d.help != "" && strings.Contains(d.help, "--inode-file-handles") && hasCap(capDacReadSearch)
}

// FlavorVersion is the daemon's flavour and version as a cell records them, e.g. "rust 1.13.2".
func (d Virtiofsd) FlavorVersion() string {
	v := d.Version
	if f := strings.Fields(v); len(f) > 0 {
		v = f[len(f)-1]
		if d.Flavor == FlavorC && len(f) > 2 {
			v = f[2] // "virtiofsd version 7.2.22 (Debian ...)"
		}
	}
	return strings.TrimSpace(d.Flavor + " " + v)
}

// cNoFile is the open-file limit asked of the C daemon. It may only raise its hard limit
// with CAP_SYS_RESOURCE and ignores the EPERM otherwise; the supervisor then raises its
// soft limit to the hard one (see raiseNoFile).
const cNoFile = 1 << 20

// Argv is the daemon's command line.
//
// The C daemon of QEMU 7.2 has no read-only mode (its --help lists none): the guest mounts
// the share read-only under an overlay, so guest writes land in the overlay's upper layer,
// and the real-guest tests hash the host tree before and after a cell to prove it unchanged.
// The Rust daemon gets --readonly where its --help lists it (recent releases).
//
// The Rust daemon is given no --rlimit-nofile: by default it raises its limit to
// min(1000000, fs.nr_open) and falls back to the hard limit, while an explicit value it
// cannot set makes it exit.
func (d Virtiofsd) Argv(o DaemonOptions) []string {
	if d.Flavor == FlavorC {
		cache := o.Cache
		if cache == "never" {
			cache = "none"
		}
		argv := append(slices.Clone(d.Loader), d.Path, "--socket-path="+o.Socket, "-o", "source="+fuseOptEscape(o.Tree), "-o", "cache="+cache)
		if o.Sandbox != "" {
			argv = append(argv, "-o", "sandbox="+o.Sandbox)
		}
		argv = append(argv, "--thread-pool-size="+strconv.Itoa(o.Threads))
		if d.has("--rlimit-nofile") {
			argv = append(argv, "--rlimit-nofile="+strconv.Itoa(cNoFile))
		}
		return argv
	}
	argv := append(slices.Clone(d.Loader), d.Path, "--socket-path="+o.Socket, "--shared-dir="+o.Tree, "--cache="+o.Cache)
	if o.Sandbox != "" {
		argv = append(argv, "--sandbox="+o.Sandbox)
	}
	if d.has("--readonly") {
		argv = append(argv, "--readonly")
	}
	if o.FileHandles != "" {
		argv = append(argv, "--inode-file-handles="+o.FileHandles)
	}
	if o.Owner != nil {
		// squash-host:<host base>:<guest id>:<count>: every host id shows as the guest's one.
		argv = append(argv, fmt.Sprintf("--translate-uid=squash-host:0:%d:4294967295", o.Owner[0]),
			fmt.Sprintf("--translate-gid=squash-host:0:%d:4294967295", o.Owner[1]))
	}
	return append(argv, "--thread-pool-size="+strconv.Itoa(o.Threads))
}

// fuseOptEscape escapes a value inside a libfuse -o list, where commas separate options and
// a backslash quotes the next character.
func fuseOptEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`).Replace(s)
}

// Capabilities (linux/capability.h) that decide how the daemon can run.
const (
	capDacReadSearch = 2
	capSysChroot     = 18
	capSysAdmin      = 21
	capSysResource   = 24
)

// effectiveCaps returns this process's effective capability set; tests replace it.
var effectiveCaps = func() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n
		}
	}
	return 0
}

// hasCap reports whether this process has capability c in its effective set.
func hasCap(c uint) bool { return effectiveCaps()&(1<<c) != 0 }

// SandboxFor picks the daemon's sandbox: namespace (its own mount, pid and net namespaces,
// pivot_root into the tree) wherever it may create namespaces, that is as root. Without
// CAP_SYS_ADMIN the Rust daemon runs unsandboxed ("none"), which it allows; the C daemon has
// no "none" and gets chroot when it may chroot (a root in a container), else namespace,
// which then fails with the daemon's own message: the C daemon must run as root.
func SandboxFor(flavor string) string {
	switch {
	case hasCap(capSysAdmin):
		return "namespace"
	case flavor == FlavorRust:
		return "none"
	case hasCap(capSysChroot):
		return "chroot"
	}
	return "namespace"
}

// socketListening reports whether a unix socket bound to path is listening, from
// /proc/net/unix (the Flags column has __SO_ACCEPTCON). Connecting would be no test: the
// daemons accept exactly one vhost-user connection, and a probe that connects and hangs up
// makes them exit.
func socketListening(path string) (bool, error) {
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return false, err
	}
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[min(1, len(lines)):] {
		// Num RefCount Protocol Flags Type St Inode Path; Inode is space-padded.
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasSuffix(line, " "+path) {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err == nil && flags&0x10000 != 0 {
			return true, nil
		}
	}
	return false, nil
}

// cPidFile is where the C daemon records its pid for socket: it takes a lock there so that
// two daemons cannot serve one socket, and never removes the file.
func cPidFile(socket string) string {
	return filepath.Join("/var/run/virtiofsd", strings.ReplaceAll(socket, "/", ".")+".pid")
}

// Supervision timings, shortened by tests.
var (
	daemonReadyTimeout = 10 * time.Second // from start until the socket listens
	daemonStopGrace    = 3 * time.Second  // from SIGTERM until SIGKILL
)

// daemonProc is a running virtiofsd: the leader of its own process group (the daemons fork a
// sandboxed child into new namespaces, which stays in the group).
type daemonProc struct {
	cmd      *exec.Cmd
	socket   string
	flavor   string
	log      io.Writer
	out      *tailWriter
	exited   chan struct{} // closed once Wait returned; waitErr is then set
	waitErr  error
	watched  chan struct{} // closed once the exit was logged
	stopping atomic.Bool
	stopOnce sync.Once
}

// startDaemon starts argv in its own process group, its output going to log line by line,
// and waits until it listens on socket. On error the daemon is already stopped; the returned
// daemonProc, if any, may still be stopped again (stop is idempotent). onDeath, if not nil,
// is called from another goroutine when the daemon later fails (a non-zero status or a
// signal) before stop: a guest then waits forever for its virtiofs requests. A daemon that
// exits 0 has seen QEMU hang up, the normal end.
func startDaemon(ctx context.Context, argv []string, socket, flavor string, log io.Writer, onDeath func(error)) (*daemonProc, error) {
	if len(argv) == 0 {
		return nil, errors.New("virtiofsd: no command")
	}
	ran(log, argv)
	if err := os.Remove(socket); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", socket, err)
	}
	fmt.Fprintf(log, "$ %s\n", qemu.Quote(argv))
	d := &daemonProc{socket: socket, flavor: flavor, log: log, out: &tailWriter{w: log, prefix: "virtiofsd: "},
		exited: make(chan struct{}), watched: make(chan struct{})}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	// Its own group, so stop reaches the sandboxed child too; killed if vmfsbench dies.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// The sandboxed child holds the output pipe: Wait must not wait for it forever.
	d.cmd.WaitDelay = 2 * time.Second
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start virtiofsd: %w", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		d.out.flush()
		close(d.exited)
	}()
	if err := d.waitListening(ctx); err != nil {
		close(d.watched) // no watcher: the error says how it ended
		d.stop()
		return d, err
	}
	pid := d.cmd.Process.Pid
	if flavor == FlavorC {
		lim, err := raiseNoFile(pid)
		if err != nil {
			fmt.Fprintf(log, "virtiofsd (pid %d): cannot raise its open-file limit: %v\n", pid, err)
		} else {
			note := ""
			if lim.Max < 1_000_000 && !canRaiseNoFile() {
				note = "; raising the hard limit needs CAP_SYS_RESOURCE, and the daemon keeps a descriptor per " +
					"file and directory the guest has looked up: a tree with more entries can fail with EMFILE"
			}
			fmt.Fprintf(log, "virtiofsd (pid %d): open-file limit %d (hard %d)%s\n", pid, lim.Cur, lim.Max, note)
		}
	}
	fmt.Fprintf(log, "virtiofsd (pid %d) listens on %s\n", pid, socket)
	go func() {
		defer close(d.watched)
		<-d.exited
		if !d.stopping.Load() {
			// QEMU hung up (the guest powered off), or the daemon died under the guest.
			if d.waitErr == nil {
				fmt.Fprintf(log, "virtiofsd (pid %d) exited by itself: %s\n", pid, exitText(d.waitErr))
				return
			}
			fmt.Fprintf(log, "virtiofsd (pid %d) exited by itself: %s%s\n", pid, exitText(d.waitErr), d.out.tailNote())
			if onDeath != nil {
				onDeath(fmt.Errorf("virtiofsd (pid %d) died while the guest ran: %s%s", pid, exitText(d.waitErr), d.out.tailNote()))
			}
		}
	}()
	return d, nil
}

// waitListening polls until the socket listens, the daemon exits, the ready timeout passes
// or ctx ends.
func (d *daemonProc) waitListening(ctx context.Context) error {
	deadline := time.NewTimer(daemonReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ok, err := socketListening(d.socket); err != nil {
			return fmt.Errorf("virtiofsd: %w", err)
		} else if ok {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("virtiofsd exited before listening on %s: %s%s", d.socket, exitText(d.waitErr), d.out.tailNote())
		case <-deadline.C:
			return fmt.Errorf("virtiofsd did not listen on %s within %s%s", d.socket, daemonReadyTimeout, d.out.tailNote())
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting for virtiofsd: %w", context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// stop ends the daemon's whole process group (SIGTERM, SIGKILL after daemonStopGrace) and
// removes its socket and pid files. Every wait is bounded: it returns within about
// daemonStopGrace plus 7 seconds whatever the daemon does.
func (d *daemonProc) stop() {
	d.stopOnce.Do(func() {
		d.stopping.Store(true)
		pgid := d.cmd.Process.Pid
		how := "had exited"
		if groupAlive(pgid) {
			how = "stopped by SIGTERM"
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-d.exited:
			case <-time.After(daemonStopGrace):
				how = "killed after ignoring SIGTERM for " + daemonStopGrace.String()
			}
			// The leader may be gone while its sandboxed child lingers: kill what is left.
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			how += "; its exit was not seen"
		}
		for end := time.Now().Add(2 * time.Second); groupAlive(pgid) && time.Now().Before(end); {
			syscall.Kill(-pgid, syscall.SIGKILL)
			time.Sleep(20 * time.Millisecond)
		}
		select {
		case <-d.watched:
		case <-time.After(time.Second):
		}
		os.Remove(d.socket)
		os.Remove(d.socket + ".pid") // the Rust daemon's lock, beside its socket
		if d.flavor == FlavorC {
			if b, err := os.ReadFile(cPidFile(d.socket)); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pgid) {
				os.Remove(cPidFile(d.socket))
			}
		}
		fmt.Fprintf(d.log, "virtiofsd (pid %d) %s: %s\n", pgid, how, d.status())
	})
}

// status says how the daemon ended, once it has.
func (d *daemonProc) status() string {
	select {
	case <-d.exited:
		return exitText(d.waitErr)
	default:
		return "still running"
	}
}

// groupAlive reports whether process group pgid has a live member. Zombies do not count:
// a killed sandboxed child is reparented to init, which may be slow to reap it.
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

// exitText describes how a process ended.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// raiseNoFile raises the soft open-file limit of process pid to its hard limit and returns
// the limit it now has. The C daemon sets its limit at start, before it listens, so this runs
// after its own attempt and before the sandboxed child is forked on QEMU's connection.
func raiseNoFile(pid int) (unix.Rlimit, error) {
	var lim unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, nil, &lim); err != nil {
		return lim, err
	}
	if lim.Cur < lim.Max {
		raised := unix.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &raised, nil); err != nil {
			return lim, err
		}
		lim = raised
	}
	return lim, nil
}

// tailWriter copies a process's output to w a whole line at a time, each line prefixed, and
// remembers the last lines for error messages.
type tailWriter struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
	last    []string
}

const tailLines = 8

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.line(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	return len(p), nil
}

func (t *tailWriter) line(s string) {
	s = strings.TrimRight(s, "\r")
	io.WriteString(t.w, t.prefix+s+"\n") // a closed log must not fail the daemon
	if strings.TrimSpace(s) == "" {
		return
	}
	t.last = append(t.last, s)
	if len(t.last) > tailLines {
		t.last = t.last[len(t.last)-tailLines:]
	}
}

// flush writes an unfinished last line.
func (t *tailWriter) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.partial) > 0 {
		t.line(string(t.partial))
		t.partial = nil
	}
}

// tailNote is "; its output ends: a | b" or "" when it printed nothing.
func (t *tailWriter) tailNote() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.last) == 0 {
		return ""
	}
	return "; its output ends: " + strings.Join(t.last, " | ")
}

// CanMount reports whether this process may mount (CAP_SYS_ADMIN), for the host probe.
func CanMount() bool { return hasCap(capSysAdmin) }
