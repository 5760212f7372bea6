// Package run executes a plan: for each cell it prepares the host page cache, does the
// method's host steps, boots the guest with the cell's initramfs, follows the agent's events
// through mount and workload, tears everything down and records the phases.
package run

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/guestinit/initramfs"
	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"

	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// Runner runs the cells of one experiment into one output directory.
type Runner struct {
	Exp      *spec.Experiment
	Host     plan.Host     // what the host probe found; the cells were planned from it
	Dirs     plan.Dirs     // the run's directories
	Cache    string        // vmfsbench's cache directory
	Kernel   kernel.Kernel // the guest kernel
	Matcher  *tree.Matcher
	Want     *tree.Summary // the host's digest of the filtered tree, when known
	Progress *Progress     // nil for none
	// Meta is the run's metadata, repeated in every cell's CSV row.
	Meta *results.Meta
	// Choices are what `vmfsbench run` asks of every cell (--verify, test hooks).
	Choices plan.Choices
	// TreeAtStart is the tree's fingerprint when the run started (New takes it, but for a
	// plan); every cell is checked against it (treecheck.go). nil checks nothing.
	TreeAtStart *tree.Fingerprint
	treeSum     string // TreeAtStart's digest, once computed
	notes       []string
	// hangFirstBoot, a test hook, starts each cell's first VM paused (-S), so that its agent
	// never speaks, and gives up on it after this long instead of the boot timeout.
	hangFirstBoot time.Duration
	// AccelProbe is the command of the accelerator probe's guest, when it booted one.
	AccelProbe []string
	// silence, a test hook, replaces bootSilence's value.
	silence time.Duration
	// execIO is set while Exec runs its cell.
	execIO *ExecIO
}

// Options are the run-wide choices of `vmfsbench run`.
type Options struct {
	// Out is the run directory; when set, New calls UseDir with it. A plan, or a run that
	// picks its directory after planning, leaves it empty.
	Out      string
	Progress io.Writer // progress lines
	Digest   bool      // compute the host digest of the tree to check read-all against
	// Lenient lets a plan go on without what only a run needs: a tree, synthetic tree or
	// kernel that is not there yet is named by its path and noted in Notes.
	Lenient bool
}

// New probes the host once for everything the cells share (the tree, generating a
// synthetic one; its exclusions, survey and size; the kernel; the host tools of the spec's
// methods; the agent binary; the accelerator; when asked, the host digest of the tree) and
// returns the runner whose Host the cells are planned from.
func New(ctx context.Context, e *spec.Experiment, o Options) (*Runner, error) {
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}
	r := &Runner{Exp: e, Cache: cache}
	if o.Progress != nil {
		r.Progress = NewProgress(o.Progress)
	}
	h := &r.Host
	h.Tree = e.Tree.Path
	if e.Tree.Synthetic != nil {
		s := e.Tree.Synthetic
		r.progressf("generating the synthetic tree (%d files, %s)", s.Files, param.FormatSize(s.Bytes))
		if h.Tree, err = synthetic.Ensure(ctx, cache, s.Tree()); err != nil {
			return nil, err
		}
	}
	if r.Matcher, err = tree.NewMatcher(e.Tree.Exclude); err != nil {
		return nil, fmt.Errorf("%s: tree.exclude: %w", e.File, err)
	}
	if fi, err := os.Stat(h.Tree); err != nil || !fi.IsDir() {
		if !o.Lenient {
			return nil, fmt.Errorf("%s: tree.path %s is not a directory", e.File, h.Tree)
		}
		r.note("tree.path %s is not a directory here: the commands name it, but the image sizes and excluded paths are not known", h.Tree)
	} else if err := r.probeTree(ctx); err != nil {
		return nil, err
	} else if err := r.emptyTree(); err != nil && !o.Lenient {
		return nil, err
	} else if err != nil {
		r.note("%v", err)
	} else if !o.Lenient {
		if r.TreeAtStart, err = r.takeFingerprint(ctx); err != nil {
			return nil, err
		}
	}
	if h.Rootfs = e.Guest.Rootfs; e.Guest.Rootfs == spec.RootfsBuilt {
		img, err := rootfs.Find(cache, rootfs.Recipe{Arch: e.Guest.Arch})
		if err != nil {
			if !o.Lenient {
				return nil, fmt.Errorf("%s: guest.rootfs: %w", e.File, err)
			}
			r.note("guest.rootfs: %v", err)
		}
		h.Rootfs = img.Path
	}
	if e.Guest.Kernel != "" {
		r.Kernel, err = kernel.FromPaths(e.Guest.Kernel, e.Guest.Modules)
	} else {
		r.Kernel, err = kernel.Find(cache, e.Guest.Arch)
	}
	if err != nil {
		if !o.Lenient {
			return nil, err
		}
		r.note("%v", err)
		r.Kernel.Vmlinuz = cmp.Or(e.Guest.Kernel, "<the kernel of vmfsbench kernel fetch --arch "+e.Guest.Arch+">")
	}
	h.Kernel, h.Modules, h.Cache = r.Kernel.Vmlinuz, r.Kernel.ModulesDir, cache
	h.Tools = probe.Tools(ctx, cache, e)
	h.CanMount = method.CanMount()
	r.Dirs = plan.PlanDirs
	if o.Out != "" {
		if err := r.UseDir(o.Out); err != nil {
			return nil, err
		}
	}
	if o.Digest {
		r.progressf("digesting the host tree %s", h.Tree)
		sum, err := tree.DigestTree(ctx, h.Tree, r.Matcher)
		if err != nil {
			return nil, err
		}
		r.Want = &sum
	}
	if o.Lenient && (e.QEMU.Accel == "tcg" || r.Kernel.ModulesDir == "") {
		// A plan with nothing to probe KVM with needs no agent.
		h.Accel, h.AccelReason = "tcg", "tcg requested"
		if e.QEMU.Accel != "tcg" {
			h.AccelReason = "no kernel to probe KVM with"
		}
		return r, nil
	}
	r.progressf("building the guest agent for %s", e.Guest.Arch)
	a, err := arch.Lookup(e.Guest.Arch)
	if err != nil {
		return nil, err
	}
	if h.Agent, err = initramfs.BuildAgent(ctx, cache, a.GOARCH); err != nil {
		return nil, err
	}
	h.Busybox = initramfs.BusyboxAvailable(h.Agent)
	h.Accel, h.AccelReason, err = probe.Accel(ctx, cache, e.QEMU.Accel, e.Guest.Arch, r.probeKVM)
	if err != nil {
		return nil, err
	}
	r.progressf("accel %s: %s", h.Accel, h.AccelReason)
	return r, nil
}

// probeTree checks the tree against the run directory, surveys it (what some method cannot
// carry is said now, and an entry no method can carry stops the run), and finds its
// excluded paths and size.
func (r *Runner) probeTree(ctx context.Context) error {
	h, e := &r.Host, r.Exp
	var err error
	if h.Survey, err = tree.Survey(ctx, h.Tree, r.Matcher); err != nil {
		return err
	}
	if err := h.Survey.Err(e.Guest.Mountpoint); err != nil {
		return err
	}
	for _, l := range h.Survey.Lines() {
		r.progressf("tree: %s", l)
	}
	if h.Hidden, err = tree.ExcludedRoots(ctx, h.Tree, r.Matcher); err != nil {
		return err
	}
	h.Size, err = method.MeasureTree(ctx, h.Tree, r.Matcher)
	return err
}

// UseDir makes dir, which must not overlap the tree, the run's directory, and makes the
// run's short directory for unix sockets. Plans made after it name the run's real paths.
func (r *Runner) UseDir(dir string) error {
	if fi, err := os.Stat(r.Host.Tree); err == nil && fi.IsDir() {
		if err := outsideTree(dir, r.Host.Tree); err != nil {
			return err
		}
	}
	sockets, err := MkdirTemp()
	if err != nil {
		return err
	}
	r.Dirs = plan.Dirs{Run: dir, Sockets: sockets, HostPort: freePort}
	return nil
}

// Notes are what a lenient probe could not find, for the plan to show.
func (r *Runner) Notes() []string { return r.notes }

func (r *Runner) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// Cells expands the experiment's cells for this run, from the host probe's findings and the
// run's directories: these are the cells RunCell executes.
func (r *Runner) Cells() ([]plan.Cell, error) {
	return plan.Expand(r.Exp, r.Host, r.Dirs, r.Choices)
}

// CheckOut refuses a run directory that overlaps a tree given by path, before anything is
// written. Synthetic trees live in vmfsbench's cache and need no check.
func CheckOut(out string, e *spec.Experiment) error {
	if e.Tree.Path == "" {
		return nil
	}
	return outsideTree(out, e.Tree.Path)
}

// realPath resolves symlinks in p, which need not exist yet: the longest existing prefix is
// resolved and the rest appended.
func realPath(p string) (string, error) {
	p = filepath.Clean(p)
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// outsideTree refuses a run directory inside the tree (or the tree inside it): vmfsbench never
// writes into the user's tree, and a run directory in it would also be measured.
func outsideTree(out, treeDir string) error {
	o, err := realPath(out)
	if err != nil {
		return err
	}
	t, err := filepath.EvalSymlinks(treeDir)
	if err != nil {
		return err
	}
	inside := func(a, b string) bool { // a is b or below it
		rel, err := filepath.Rel(b, a)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
	}
	if inside(o, t) || inside(t, o) {
		return fmt.Errorf("the run directory %s and the tree %s overlap: vmfsbench never writes into the tree; choose another -o", out, treeDir)
	}
	return nil
}

// freePort asks the kernel for a free loopback TCP port. QEMU binds it moments later; the
// window in which another process could take it is small and a collision fails the boot
// with a clear QEMU error.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Close ends the progress display and removes the run's socket directory.
func (r *Runner) Close() error {
	r.Progress.Close()
	if r.Dirs.Sockets == plan.SocketsPlaceholder {
		return nil
	}
	return os.RemoveAll(r.Dirs.Sockets)
}

func (r *Runner) progressf(format string, args ...any) { r.Progress.Logf(format, args...) }

// probeKVM boots the agent under KVM with an empty job and succeeds only if it reports done
// within the probe's timeout (ChooseAccel gives the context its deadline).
func (r *Runner) probeKVM(ctx context.Context, accel string) error {
	dir, err := tmpdir.Make("kvm-probe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	arch, err := qemu.ParseArch(r.Exp.Guest.Arch)
	if err != nil {
		return err
	}
	s := guest.Session{Arch: arch, Accel: accel, Memory: 512 << 20, Kernel: r.Kernel.Vmlinuz, Files: guest.FilesIn(dir),
		Image: guest.Image{Cache: r.Cache, Job: protocol.Job{Cell: "kvm-probe"},
			Base: initramfs.Base{Agent: r.Host.Agent, ModulesDir: r.Kernel.ModulesDir, Modules: plan.BaseModules}}}
	if _, _, err := s.WriteInitramfs(ctx); err != nil {
		return err
	}
	g, err := s.Start(ctx, guest.Logs{Started: func(argv []string) { r.AccelProbe = argv }})
	if err != nil {
		return err
	}
	defer g.Stop()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(qemu.KVMProbeTimeout)
	}
	return g.Done(ctx, deadline, "the probe's done event", nil)
}
