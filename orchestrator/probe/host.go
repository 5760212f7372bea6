package probe

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Options say what Host looks for besides what every plan needs.
type Options struct {
	// Logf reports what the probe does as it goes (generating a tree, building the agent, the
	// accelerator's verdict); nil says nothing.
	Logf func(format string, args ...any)
	// Digest computes the host digest of the tree, which read-all's cells are checked against.
	Digest bool
	// Lenient lets a plan go on without what only a run needs: a tree, synthetic tree, kernel,
	// its modules or rootfs that is not there yet is named by its path and noted in Notes.
	Lenient bool
}

// Result is what Host found: the plan's Host, and what a run checks its cells against.
type Result struct {
	Host    plan.Host
	Kernel  kernel.Kernel // the guest kernel
	Matcher *tree.Matcher // the spec's exclusions
	// Want is the host's digest of the filtered tree, when Options.Digest asked for it.
	Want *tree.Summary
	// TreeAtStart is the tree's fingerprint as the probe found it; nil for a lenient probe
	// (a plan), which checks nothing.
	TreeAtStart *tree.Fingerprint
	// AccelProbe is the command of the accelerator probe's guest, when it booted one.
	AccelProbe []string
	// Notes are what a lenient probe could not find, for the plan to show.
	Notes []string
}

// Host probes this host once for everything the cells of e share: the tree (a synthetic one
// generated), its exclusions, survey and size, its fingerprint; the kernel and the modules
// its modules.dep lists; the rootfs; every host tool the methods run, QEMU's device models
// and features; the agent binary; the accelerator; when asked, the host digest of the tree.
// What it cannot find is its error, or with Options.Lenient a note.
func Host(ctx context.Context, e *spec.Experiment, o Options) (*Result, error) {
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}
	p := &prober{e: e, o: o, res: &Result{}}
	res, h := p.res, &p.res.Host
	h.Cache, h.Tree = cache, e.Tree.Path
	if e.Tree.Synthetic != nil {
		s := e.Tree.Synthetic
		p.logf("generating the synthetic tree (%d files, %s)", s.Files, param.FormatSize(s.Bytes))
		if h.Tree, err = synthetic.Ensure(ctx, cache, s.Tree()); err != nil {
			return nil, err
		}
	}
	if res.Matcher, err = tree.NewMatcher(e.Tree.Exclude); err != nil {
		return nil, fmt.Errorf("%s: tree.exclude: %w", e.File, err)
	}
	if fi, err := os.Stat(h.Tree); err != nil || !fi.IsDir() {
		if !o.Lenient {
			return nil, fmt.Errorf("%s: tree.path %s is not a directory", e.File, h.Tree)
		}
		p.note("tree.path %s is not a directory here: the commands name it, but the image sizes and excluded paths are not known", h.Tree)
	} else if err := p.tree(ctx); err != nil {
		return nil, err
	} else if err := p.emptyTree(); err != nil && !o.Lenient {
		return nil, err
	} else if err != nil {
		p.note("%v", err)
	} else if !o.Lenient {
		if res.TreeAtStart, err = tree.TakeFingerprint(ctx, h.Tree, res.Matcher); err != nil {
			return nil, err
		}
	}
	if h.Rootfs = e.Guest.Rootfs; e.Guest.Rootfs == spec.RootfsBuilt {
		img, err := rootfs.Find(cache, rootfs.Recipe{Arch: e.Guest.Arch})
		if err != nil {
			if !o.Lenient {
				return nil, fmt.Errorf("%s: guest.rootfs: %w", e.File, err)
			}
			p.note("guest.rootfs: %v", err)
		}
		h.Rootfs = img.Path
	}
	if e.Guest.Kernel != "" {
		res.Kernel, err = kernel.FromPaths(e.Guest.Kernel, e.Guest.Modules)
	} else {
		res.Kernel, err = kernel.Find(cache, e.Guest.Arch)
	}
	if err != nil {
		if !o.Lenient {
			return nil, err
		}
		p.note("%v", err)
		res.Kernel.Vmlinuz = cmp.Or(e.Guest.Kernel, "<the kernel of vmfsbench kernel fetch --arch "+e.Guest.Arch+">")
	}
	h.Kernel, h.Modules = res.Kernel.Vmlinuz, res.Kernel.ModulesDir
	if h.Modules != "" {
		// Every cell packs modules: a modules.dep that cannot be read fails them all.
		if h.KernelModules, err = initramfs.ReadModules(h.Modules); err != nil && !o.Lenient {
			return nil, fmt.Errorf("the guest kernel's modules: %w", err)
		} else if err != nil {
			p.note("the guest kernel's modules: %v", err)
		}
	}
	h.Tools = Tools(ctx, cache, e)
	h.CanMount = method.CanMount()
	if o.Digest {
		p.logf("digesting the host tree %s", h.Tree)
		sum, err := tree.DigestTree(ctx, h.Tree, res.Matcher)
		if err != nil {
			return nil, err
		}
		res.Want = &sum
	}
	if o.Lenient && (e.QEMU.Accel == "tcg" || h.Modules == "") {
		// A plan with nothing to probe KVM with needs no agent.
		h.Accel, h.AccelReason = "tcg", "tcg requested"
		if e.QEMU.Accel != "tcg" {
			h.AccelReason = "no kernel to probe KVM with"
		}
		return res, nil
	}
	p.logf("building the guest agent for %s", e.Guest.Arch)
	a, err := arch.Lookup(e.Guest.Arch)
	if err != nil {
		return nil, err
	}
	if h.Agent, err = initramfs.BuildAgent(ctx, cache, a.GOARCH); err != nil {
		return nil, err
	}
	h.Busybox = initramfs.BusyboxAvailable(h.Agent)
	h.Accel, h.AccelReason, err = Accel(ctx, cache, e.QEMU.Accel, e.Guest.Arch, p.bootKVM)
	if err != nil {
		return nil, err
	}
	p.logf("accel %s: %s", h.Accel, h.AccelReason)
	return res, nil
}

// prober is one run of Host.
type prober struct {
	e   *spec.Experiment
	o   Options
	res *Result
}

func (p *prober) logf(format string, args ...any) {
	if p.o.Logf != nil {
		p.o.Logf(format, args...)
	}
}

func (p *prober) note(format string, args ...any) {
	p.res.Notes = append(p.res.Notes, fmt.Sprintf(format, args...))
}

// tree surveys the tree (what some method cannot carry is said now, and an entry no method
// can carry is an error) and finds its excluded paths and size.
func (p *prober) tree(ctx context.Context) error {
	h, m := &p.res.Host, p.res.Matcher
	var err error
	if h.Survey, err = tree.Survey(ctx, h.Tree, m); err != nil {
		return err
	}
	if err := h.Survey.Err(p.e.Guest.Mountpoint); err != nil {
		return err
	}
	for _, l := range h.Survey.Lines() {
		p.logf("tree: %s", l)
	}
	if h.Hidden, err = tree.ExcludedRoots(ctx, h.Tree, m); err != nil {
		return err
	}
	h.Size, err = method.MeasureTree(ctx, h.Tree, m)
	return err
}

// emptyTree refuses a tree that holds no file or symlink after its exclusions: every cell
// would measure nothing, and say ok.
func (p *prober) emptyTree() error {
	h, e := &p.res.Host, p.e
	if s := h.Size; s.Files+s.Symlinks > 0 {
		return nil
	}
	if len(e.Tree.Exclude) > 0 {
		return fmt.Errorf("%s: tree.exclude leaves no file of %s (%d rules): every cell would measure an empty tree; loosen the rules",
			e.File, h.Tree, len(e.Tree.Exclude))
	}
	return fmt.Errorf("%s: the tree %s holds no file: every cell would measure an empty tree", e.File, h.Tree)
}

// bootKVM boots the agent under accel with an empty job and succeeds only if it reports done
// within the probe's timeout (qemu.ChooseAccel gives the context its deadline). Its command
// is kept in Result.AccelProbe.
func (p *prober) bootKVM(ctx context.Context, accel string) error {
	dir, err := tmpdir.Make("kvm-probe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	a, err := qemu.ParseArch(p.e.Guest.Arch)
	if err != nil {
		return err
	}
	h := &p.res.Host
	s := guest.Session{Arch: a, Accel: accel, Memory: 512 << 20, Kernel: h.Kernel, Files: guest.FilesIn(dir),
		Image: guest.Image{Cache: h.Cache, Job: protocol.Job{Cell: "kvm-probe"},
			Base: initramfs.Base{Agent: h.Agent, ModulesDir: h.Modules, Modules: plan.BaseModules}}}
	if _, _, err := s.WriteInitramfs(ctx); err != nil {
		return err
	}
	g, err := s.Start(ctx, guest.Logs{Started: func(argv []string) { p.res.AccelProbe = argv }})
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
