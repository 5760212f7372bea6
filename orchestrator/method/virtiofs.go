package method

import (
	"context"
	"fmt"
	"io"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// Virtiofs shares the host tree through a virtiofsd daemon on vhost-user-fs and puts an
// overlay on it. The share exports the whole tree: the overlay hides the excluded paths with
// whiteouts, and the guest mounts the share read-only, so guest writes never reach the host.
type Virtiofs struct{}

func init() { register(Virtiofs{}) }

// Name implements Method.
func (Virtiofs) Name() string { return "virtiofs" }

// Modules implements Method.
func (Virtiofs) Modules(c Config) []string { return overlayModules(c, "virtiofs") }

func (Virtiofs) socket(c Config) string { return sock(c, "virtiofsd.sock") }

// daemonOptions translates the cell's parameters for the daemon.
func (v Virtiofs) daemonOptions(c Config, d Virtiofsd) DaemonOptions {
	return DaemonOptions{Socket: v.socket(c), Tree: c.Tree, Cache: c.Params.Str("cache"),
		Threads: int(c.Params.Int("thread_pool_size")), Sandbox: SandboxFor(d.Flavor)}
}

// HostSteps implements Method.
func (v Virtiofs) HostSteps(c Config) []Step {
	d := FindVirtiofsd(c.Params.Str("daemon"))
	name := map[string]string{FlavorC: "C", FlavorRust: "Rust"}[d.Flavor]
	return append(scratchSteps(c), Step{Kind: StepStartDaemon, Desc: fmt.Sprintf("start the %s virtiofsd, wait for its socket", name),
		Argv: d.Argv(v.daemonOptions(c, d))})
}

// RunHostStep implements HostRunner: it starts the daemon of the start-daemon step (the
// step's argv, as the plan shows it) in its own process group and returns once the daemon
// listens on its socket. The undo action stops the whole group and removes the socket; it
// never blocks for more than about ten seconds.
func (v Virtiofs) RunHostStep(ctx context.Context, s Step, c Config, env HostEnv) (func(), error) {
	if isScratchStep(s, c) {
		return nil, runScratchStep(ctx, s, c, env)
	}
	if s.Kind != StepStartDaemon {
		return nil, fmt.Errorf("virtiofs has no host step %q", s.Kind)
	}
	d := FindVirtiofsd(c.Params.Str("daemon"))
	if d.Err != nil {
		return nil, d.Err
	}
	if d.Flavor == FlavorC && SandboxFor(d.Flavor) == "namespace" && !hasCap(capSysAdmin) {
		// It would fail only once QEMU connects, leaving the guest's mount to hang.
		return nil, fmt.Errorf("the C virtiofsd %s must run as root: it enters new namespaces when QEMU connects "+
			"(run vmfsbench as root, or give the method a Rust daemon: PATH)", d.Path)
	}
	log := env.Log
	if log == nil {
		log = io.Discard
	}
	// A daemon that dies while the guest runs ends the cell at once through env.Abort.
	p, err := startDaemon(ctx, s.Argv, v.socket(c), d.Flavor, log, env.Abort)
	if p == nil {
		return nil, err
	}
	return p.stop, err
}

// Devices implements Method.
func (v Virtiofs) Devices(c Config) []Device {
	return append([]Device{{Kind: "vhost-user-fs", Path: v.socket(c), Tag: shareTag, QueueSize: int(c.Params.Int("queue_size"))}},
		scratchDevices(c)...)
}

// GuestSteps implements Method.
func (Virtiofs) GuestSteps(c Config) []protocol.Step {
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: shareTag, Target: lowerDir,
		FSType: "virtiofs", ReadOnly: true}}, overlay(c, true)...)
}

// KeepsHostOwners implements HostOwners.
func (Virtiofs) KeepsHostOwners() bool { return true }

// Warnings implements Method.
func (Virtiofs) Warnings(c Config) []string {
	w := ownerWarning("virtiofs", c)
	if n := c.Params.Int("thread_pool_size"); n > 2 && c.Params.Str("cache") == "never" && FindVirtiofsd(c.Params.Str("daemon")).Flavor == FlavorC {
		// Measured on Debian 12 (QEMU 7.2.22, GLib 2.74): 16 threads died in 3 of 3 runs of
		// a 2,000-file read-all, 1 and 2 threads and the other cache modes with 16 or 64 lived.
		w = append(w, fmt.Sprintf("thread_pool_size %d with cache=never: the C virtiofsd's GLib thread pool calls "+
			"sched_getaffinity as it grows under load, and the daemon's own seccomp filter kills it for that (SIGSYS, "+
			"see the host's audit log); the guest then waits until the workload timeout", n))
	}
	return w
}
