package method

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Virtiofs shares the host tree through a virtiofsd daemon on vhost-user-fs and puts an
// overlay on it. The share exports the whole tree: the overlay hides the excluded paths with
// whiteouts, and the guest mounts the share read-only, so guest writes never reach the host.
type Virtiofs struct{}

func init() { register(Virtiofs{}) }

// Name implements Method.
func (Virtiofs) Name() string { return "virtiofs" }

// Params implements Method.
func (Virtiofs) Params() []param.Def {
	return []param.Def{
		{Name: "cache", Kind: param.KindEnum, Default: "auto", Enum: []string{"always", "auto", "metadata", "never"},
			Help: "the daemon's cache mode; metadata is the Rust daemon's only"},
		{Name: "thread_pool_size", Kind: param.KindInt, Default: int64(0), Min: 0, Max: 1024},
		{Name: "queue_size", Kind: param.KindInt, Default: int64(1024), Min: 64, Max: 1024, Check: param.PowerOfTwo,
			Help:   "virtqueue size of vhost-user-fs-pci, a power of two; QEMU caps it at 1024",
			Schema: map[string]any{"type": "integer", "enum": []int{64, 128, 256, 512, 1024}}},
		{Name: "daemon", Kind: param.KindString, Default: "auto",
			Help: "which virtiofsd: auto (the host's, Rust first, else one fetched by `vmfsbench tool fetch virtiofsd`), " +
				"rust (the host's Rust daemon, else the fetched one), c (QEMU's C daemon), or a virtiofsd binary's path"},
		upperParam,
	}
}

// Tools implements Method: the daemon the cell asks for (see daemonPaths). The flavour
// comes from what the binary prints for --version and --help.
func (Virtiofs) Tools(p Params) []Tool {
	t := Tool{Name: daemonTool(p), Package: "virtiofsd (Debian 13) or qemu-system-common (Debian 12); on Debian 12, `vmfsbench tool fetch virtiofsd` fetches Debian 13's",
		Paths: daemonPaths(p.Str("daemon")), Probe: probeVirtiofsd}
	switch d := p.Str("daemon"); d {
	case "rust":
		t.Probe, t.Package = probeRustVirtiofsd, "virtiofsd (Debian 13); on Debian 12, `vmfsbench tool fetch virtiofsd` fetches Debian 13's"
	case "c":
		t.Package = "qemu-system-common (Debian 12; QEMU 8.0 dropped the C daemon)"
	case "auto", "":
		t.Probe = probeAutoVirtiofsd
	default:
		t.Package = ""
	}
	return append([]Tool{t}, scratchTools(p)...)
}

// fetchedVirtiofsd is the Rust daemon in the root `vmfsbench tool fetch virtiofsd` makes.
const fetchedVirtiofsd = "usr/libexec/virtiofsd"

// daemonPaths are where the daemon a cell asks for is looked for, in order: for auto,
// virtiofsd on PATH, /usr/libexec/virtiofsd (both usually the Rust daemon), QEMU's C daemon,
// then the fetched Rust daemon; for rust, the same without the C daemon.
func daemonPaths(want string) []string {
	var paths []string
	switch want {
	case "auto", "":
		paths = []string{"virtiofsd", rustVirtiofsd, cVirtiofsd}
	case "rust":
		paths = []string{"virtiofsd", rustVirtiofsd}
	case "c":
		return []string{cVirtiofsd}
	default:
		return []string{want}
	}
	if f := fetched("virtiofsd", fetchedVirtiofsd); f != "" {
		paths = append(paths, f)
	}
	return paths
}

// daemonTool is the name of the cell's daemon among the host's tools: "virtiofsd" for auto,
// else "virtiofsd rust", "virtiofsd c" or "virtiofsd PATH".
func daemonTool(p Params) string {
	if d := p.Str("daemon"); d != "auto" && d != "" {
		return "virtiofsd " + d
	}
	return "virtiofsd"
}

// probeAutoVirtiofsd is probeVirtiofsd that, when it finds the C daemon, also inspects the
// fetched Rust daemon, if any, as its Fallback: a tree over the C daemon's open-file limit
// is then served by the Rust daemon's file handles instead of being refused.
func probeAutoVirtiofsd(ctx context.Context, path string) (string, any, error) {
	v, d, err := probeVirtiofsd(ctx, path)
	if vd, ok := d.(Virtiofsd); ok && err == nil && vd.Flavor == FlavorC {
		if f := fetched("virtiofsd", fetchedVirtiofsd); f != "" {
			if alt := inspectVirtiofsd(f); alt.Err == nil && alt.Flavor == FlavorRust {
				vd.Fallback = &alt
				d = vd
			}
		}
	}
	return v, d, err
}

// probeRustVirtiofsd is probeVirtiofsd refusing the C daemon (a virtiofsd on PATH may be one).
func probeRustVirtiofsd(ctx context.Context, path string) (string, any, error) {
	v, d, err := probeVirtiofsd(ctx, path)
	if vd, ok := d.(Virtiofsd); ok && err == nil && vd.Flavor != FlavorRust {
		err = fmt.Errorf("virtiofsd %s is the C daemon, not the Rust one", path)
	}
	return v, d, err
}

// probeVirtiofsd asks the daemon its version; the version recorded names the flavour too
// ("virtiofsd 1.13.2 (rust)"), which decides its flags.
func probeVirtiofsd(_ context.Context, path string) (string, any, error) {
	d := inspectVirtiofsd(path)
	if d.Version == "" {
		return d.Version, d, d.Err
	}
	return d.Version + " (" + d.Flavor + ")", d, d.Err
}

// Carries implements Method: the share shows every entry as it is.
func (Virtiofs) Carries(tree.Finding) (bool, string) { return true, "" }

func (Virtiofs) socket(c Config) string { return sock(c, "virtiofsd.sock") }

// daemon is the cell's daemon as the host probe found it; when it found none, QEMU's C
// daemon, so that a plan still shows the usual command.
func (Virtiofs) daemon(c Config) Virtiofsd {
	h, probed := c.Tools[daemonTool(c.Params)]
	if d, ok := h.Detail.(Virtiofsd); ok {
		return d
	}
	if !probed {
		h.Err = fmt.Errorf("virtiofsd was not looked for")
	}
	switch want := c.Params.Str("daemon"); want {
	case "auto", "", "c":
		return Virtiofsd{Path: cVirtiofsd, Flavor: FlavorC, Err: h.Err}
	case "rust":
		return Virtiofsd{Path: rustVirtiofsd, Flavor: FlavorRust, Err: h.Err}
	default:
		return Virtiofsd{Path: want, Flavor: FlavorRust, Err: h.Err}
	}
}

// Plan implements Method. The daemon is started in its own process group and the step
// returns once it listens on its socket; a daemon that dies while the guest runs ends the
// cell at once. The undo action stops the whole group and removes the socket; it never
// blocks for more than about ten seconds.
func (v Virtiofs) Plan(c Config) (Setup, error) {
	d := v.daemon(c)
	o := v.options(c, d)
	var why string
	if d.Fallback != nil && v.refuse(c, d, o) != nil {
		if alt := *d.Fallback; v.refuse(c, alt, v.options(c, alt)) == nil {
			why = fmt.Sprintf("the tree's %d entries are over the C virtiofsd's open-file limit: the fetched Rust daemon serves it", v.entries(c))
			d, o = alt, v.options(c, alt)
		}
	}
	facts := map[string]string{"virtiofsd": d.FlavorVersion(), "inode_file_handles": "never", "owners": "host"}
	if d.Origin != "" {
		facts["virtiofsd_from"] = d.Origin
	}
	if why != "" {
		facts["virtiofsd_why"] = why
	}
	if o.FileHandles != "" {
		facts["inode_file_handles"] = o.FileHandles
	}
	mapOwners := c.Owner != nil && d.CanTranslateOwners()
	if mapOwners {
		o.Owner = &[2]int{c.Owner.UID, c.Owner.GID}
		facts["owners"] = fmt.Sprintf("translated to %d:%d by the daemon", c.Owner.UID, c.Owner.GID)
	}
	argv := d.Argv(o)
	name := map[string]string{FlavorC: "C", FlavorRust: "Rust"}[d.Flavor]
	start := Step{Kind: StepStartDaemon, Desc: fmt.Sprintf("start the %s virtiofsd, wait for its socket", name),
		Commands: [][]string{argv},
		Run: func(ctx context.Context, env Env) (func(), error) {
			if d.Err != nil {
				return nil, d.Err
			}
			if d.Flavor == FlavorC && SandboxFor(d.Flavor) == "namespace" && !hasCap(capSysAdmin) {
				// It would fail only once QEMU connects, leaving the guest's mount to hang.
				return nil, fmt.Errorf("the C virtiofsd %s must run as root: it enters new namespaces when QEMU connects "+
					"(run vmfsbench as root, or give the method a Rust daemon: PATH)", d.Path)
			}
			p, err := startShareDaemon(ctx, c, d, argv, env, v.socket(c))
			if p == nil {
				return nil, err
			}
			return p.stop, err
		}}
	var w []string
	if !mapOwners {
		w = ownerWarning("virtiofs", c)
	}
	if n := c.Params.Int("thread_pool_size"); n > 2 && c.Params.Str("cache") == "never" && d.Flavor == FlavorC {
		// Measured on Debian 12 (QEMU 7.2.22, GLib 2.74): 16 threads died in 3 of 3 runs of
		// a 2,000-file read-all, 1 and 2 threads and the other cache modes with 16 or 64 lived.
		w = append(w, fmt.Sprintf("thread_pool_size %d with cache=never: the C virtiofsd's GLib thread pool calls "+
			"sched_getaffinity as it grows under load, and the daemon's own seccomp filter kills it for that (SIGSYS, "+
			"see the host's audit log); the guest then waits until the workload timeout", n))
	}
	return Setup{
		Modules: overlayModules(c, "virtiofs"),
		Steps:   append(scratchSteps(c), start),
		Devices: append([]Device{VhostUserFS{Socket: v.socket(c), Tag: shareTag, QueueSize: int(c.Params.Int("queue_size"))}},
			scratchDevices(c)...),
		Guest: append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: shareTag, Target: lowerDir,
			FSType: "virtiofs", ReadOnly: true}}, overlay(c, true)...),
		Warnings:   w,
		HostOwners: !mapOwners,
		Facts:      facts,
		Refused:    errText(v.refuse(c, d, o)),
	}, nil
}

// options are what daemon d is asked to do for the cell. With file handles (the Rust daemon
// as root) it keeps a handle, not a descriptor, per inode the guest looked up: no open-file
// limit caps the tree.
func (v Virtiofs) options(c Config, d Virtiofsd) DaemonOptions {
	o := DaemonOptions{Socket: v.socket(c), Tree: c.Tree, Cache: c.Params.Str("cache"),
		Threads: int(c.Params.Int("thread_pool_size")), Sandbox: SandboxFor(d.Flavor)}
	if d.CanFileHandles() {
		o.FileHandles = "prefer"
	}
	return o
}

// errText is err's text, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// entries is how many inodes the guest can look up in the share: the filtered tree's, plus
// the excluded paths the overlay hides (a share exports the whole tree).
func (Virtiofs) entries(c Config) int64 { return c.Size.Inodes + int64(len(c.Hidden)) }

// openFileLimit is this process's RLIMIT_NOFILE, which the daemon inherits; tests replace it.
var openFileLimit = func() (unix.Rlimit, error) {
	var lim unix.Rlimit
	err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	return lim, err
}

// refuse says why the cell cannot run here, before anything is timed: a cache mode the
// daemon lacks, or a tree with more entries than the daemon may hold descriptors for (it
// keeps one per inode the guest looked up, unless it uses file handles) when the hard
// open-file limit cannot be raised (no CAP_SYS_RESOURCE). The read would otherwise fail with
// EMFILE in the middle of the workload.
func (v Virtiofs) refuse(c Config, d Virtiofsd, o DaemonOptions) error {
	if o.Cache == "metadata" && d.Flavor != FlavorRust {
		return fmt.Errorf("cache=metadata needs the Rust virtiofsd; %s is the C daemon (its modes are auto, always and never)", d.Path)
	}
	if canRaiseNoFile() {
		return nil
	}
	lim, err := openFileLimit()
	if err != nil || lim.Max == unix.RLIM_INFINITY {
		return nil
	}
	if need := uint64(d.Reserve + max(o.Threads, 1)); d.Reserve > 0 && lim.Max < need {
		return fmt.Errorf("the Rust virtiofsd (%s) keeps %d descriptors for itself and one per pool thread, so it needs "+
			"an open-file limit of at least %d; this process may open only %d (hard limit, not raisable here): raise it (ulimit -Hn)",
			d.Version, d.Reserve, need, lim.Max)
	}
	if o.FileHandles != "" {
		return nil
	}
	// Headroom for the daemon's own descriptors (sockets, memory regions, log).
	const spare = 64
	if n := v.entries(c); uint64(n)+spare > lim.Max {
		how := "give the method the Rust virtiofsd, which references inodes by file handles with CAP_DAC_READ_SEARCH " +
			"(daemon: rust; on Debian 12, `vmfsbench tool fetch virtiofsd` fetches Debian 13's)"
		if d.Flavor == FlavorRust {
			how = "run vmfsbench as root, so that the daemon may use file handles (CAP_DAC_READ_SEARCH)"
		}
		return fmt.Errorf("the tree has %d entries but the virtiofsd may open only %d files (hard limit, not raisable without "+
			"CAP_SYS_RESOURCE), and it keeps a descriptor per entry the guest looks up: %s, or raise the hard limit (ulimit -Hn)",
			n, lim.Max, how)
	}
	return nil
}
