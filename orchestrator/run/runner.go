// Package run executes a plan: for each cell it prepares the host page cache, does the
// method's host steps, boots the guest with the cell's initramfs, follows the agent's events
// through mount and workload, tears everything down and records the phases.
package run

import (
	"context"
	"errors"
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
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// Runner runs the cells of one experiment into one output directory.
type Runner struct {
	Exp         *spec.Experiment
	Paths       plan.Paths
	Cache       string        // vmfsbench's cache directory
	Kernel      kernel.Kernel // the guest kernel
	Agent       string        // the static agent binary for the guest's arch
	Accel       string        // kvm or tcg, decided once per run
	AccelReason string
	Matcher     *tree.Matcher
	Want        *tree.Summary // the host's digest of the filtered tree, when known
	Progress    *Progress     // nil for none
	// Meta is the run's metadata, repeated in every cell's CSV row.
	Meta *results.Meta
	// Survey lists the tree's entries that some method cannot carry identically.
	Survey tree.Report
	// Verify makes the guest check, after the workload, the tree's owners and writability.
	Verify bool
	// Fault is a test hook handed to the agent (see protocol.Job.Fault).
	Fault string
}

// Options are the run-wide choices of `vmfsbench run`.
type Options struct {
	Out      string    // the run directory
	Progress io.Writer // progress lines
	Digest   bool      // compute the host digest of the tree to check read-all against
}

// goarch returns the GOARCH of the agent for the guest arch named name.
func goarch(name string) string {
	a, _ := arch.Lookup(name) // the spec's arch is one of the table's
	return a.GOARCH
}

// New resolves everything the cells share: the tree (generating a synthetic one), the kernel,
// the agent binary, the accelerator and, when asked, the host digest of the tree.
func New(ctx context.Context, e *spec.Experiment, o Options) (*Runner, error) {
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}
	r := &Runner{Exp: e, Cache: cache}
	if o.Progress != nil {
		r.Progress = NewProgress(o.Progress)
	}
	r.Paths = plan.Paths{Run: o.Out, Tree: e.Tree.Path, HostPort: freePort}
	if e.Tree.Synthetic != nil {
		s := e.Tree.Synthetic
		r.progressf("generating the synthetic tree (%d files, %s)", s.Files, spec.FormatSize(s.Bytes))
		if r.Paths.Tree, err = tree.EnsureSynthetic(ctx, cache, s.Tree()); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(r.Paths.Tree); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s: tree.path %s is not a directory", e.File, r.Paths.Tree)
	}
	if err := outsideTree(o.Out, r.Paths.Tree); err != nil {
		return nil, err
	}
	if r.Matcher, err = tree.NewMatcher(e.Tree.Exclude); err != nil {
		return nil, fmt.Errorf("%s: tree.exclude: %w", e.File, err)
	}
	// Before anything is timed: what some method cannot carry is said now, and an entry no
	// method can carry stops the run.
	if r.Survey, err = tree.Survey(ctx, r.Paths.Tree, r.Matcher); err != nil {
		return nil, err
	}
	if err := r.Survey.Err(e.Guest.Mountpoint); err != nil {
		return nil, err
	}
	for _, l := range r.Survey.Lines() {
		r.progressf("tree: %s", l)
	}
	if r.Paths.Hidden, err = tree.ExcludedRoots(ctx, r.Paths.Tree, r.Matcher); err != nil {
		return nil, err
	}
	size, err := method.MeasureTree(ctx, r.Paths.Tree, r.Matcher)
	if err != nil {
		return nil, err
	}
	r.Paths.TreeBytes = size.Bytes
	if r.Paths.Rootfs = e.Guest.Rootfs; e.Guest.Rootfs == spec.RootfsBuilt {
		img, err := rootfs.Find(cache, rootfs.Recipe{Arch: e.Guest.Arch})
		if err != nil {
			return nil, fmt.Errorf("%s: guest.rootfs: %w", e.File, err)
		}
		r.Paths.Rootfs = img.Path
	}
	if e.Guest.Kernel != "" {
		r.Kernel, err = kernel.FromPaths(e.Guest.Kernel, e.Guest.Modules)
	} else {
		r.Kernel, err = kernel.Find(cache, e.Guest.Arch)
	}
	if err != nil {
		return nil, err
	}
	r.Paths.Kernel, r.Paths.Modules = r.Kernel.Vmlinuz, r.Kernel.ModulesDir
	if r.Paths.Sockets, err = os.MkdirTemp("", "vmfsbench."); err != nil {
		return nil, err
	}
	r.progressf("building the guest agent for %s", e.Guest.Arch)
	if r.Agent, err = initramfs.BuildAgent(ctx, cache, goarch(e.Guest.Arch)); err != nil {
		return nil, err
	}
	if o.Digest {
		r.progressf("digesting the host tree %s", r.Paths.Tree)
		sum, err := tree.DigestTree(ctx, r.Paths.Tree, r.Matcher)
		if err != nil {
			return nil, err
		}
		r.Want = &sum
	}
	r.Accel, r.AccelReason, err = qemu.ChooseAccel(ctx, e.QEMU.Accel, r.probeKVM)
	if err != nil {
		return nil, err
	}
	r.progressf("accel %s: %s", r.Accel, r.AccelReason)
	return r, nil
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
	return os.RemoveAll(r.Paths.Sockets)
}

func (r *Runner) progressf(format string, args ...any) { r.Progress.Logf(format, args...) }

// probeKVM boots the agent under KVM with an empty job and succeeds only if it reports done
// within the probe's timeout (ChooseAccel gives the context its deadline).
func (r *Runner) probeKVM(ctx context.Context, accel string) error {
	dir, err := os.MkdirTemp(r.Paths.Sockets, "probe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	base, _, err := initramfs.BuildBase(ctx, r.Cache, initramfs.Base{Agent: r.Agent, ModulesDir: r.Kernel.ModulesDir, Modules: plan.BaseModules})
	if err != nil {
		return err
	}
	initrd := filepath.Join(dir, "initrd")
	if err := initramfs.WriteCellInitrd(initrd, base, []byte(`{"cell":"kvm-probe","workload":{}}`)); err != nil {
		return err
	}
	arch, _ := qemu.ParseArch(r.Exp.Guest.Arch)
	argv, err := qemu.Build(qemu.WithArch(arch), qemu.WithAccel(accel), qemu.WithMemory(512<<20),
		qemu.WithKernel(r.Kernel.Vmlinuz), qemu.WithInitrd(initrd), qemu.WithConsoleLog(filepath.Join(dir, "console")),
		qemu.VirtioSerialPort("ctl", filepath.Join(dir, "ctl")))
	if err != nil {
		return err
	}
	g, err := bootGuest(ctx, argv, filepath.Join(dir, "ctl"), filepath.Join(dir, "console"), io.Discard, io.Discard, nil)
	if err != nil {
		return err
	}
	defer g.stop()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(qemu.KVMProbeTimeout)
	}
	for {
		ev, err := g.next(ctx, deadline, "the probe's done event")
		if err != nil {
			return err
		}
		if ev.Kind == protocol.EventDone {
			return nil
		}
		if ev.Kind == protocol.EventError {
			return errors.New(ev.Error)
		}
	}
}
