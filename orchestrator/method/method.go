// Package method holds the ways a host tree reaches the guest, one file per method behind one
// interface: what each builds or starts on the host, the devices it attaches to QEMU, the
// guest kernel modules it needs and the steps the guest agent takes to present the tree at the
// mountpoint.
package method

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Params holds a cell's value of every parameter of its method, keyed by name: int64 for
// numbers and sizes, string otherwise.
type Params map[string]any

// Int returns a numeric parameter.
func (p Params) Int(name string) int64 {
	v, _ := p[name].(int64)
	return v
}

// Str returns a string parameter.
func (p Params) Str(name string) string {
	s, _ := p[name].(string)
	return s
}

// Config is what a method knows about the cell it serves. Everything in it was found before
// planning (the host probe), so a method plans without touching the host.
type Config struct {
	Params     Params
	Tree       string      // the host tree's root
	Work       string      // the cell's scratch directory on the host (images, logs)
	Sockets    string      // the cell's short directory for unix sockets
	Hidden     []string    // the tree's top-most excluded paths (tree.ExcludedRoots)
	HostPort   int         // a free loopback TCP port for a port forward
	Exclude    []string    // the spec's exclusion rules
	Owner      *tree.Owner // how files should appear in the guest; nil = as on the host
	Mountpoint string      // where the guest sees the tree
	Memory     int64       // guest memory in bytes
	Arch       string      // the guest's architecture (arch.Names)
	// KernelRelease is the guest kernel's release (its lib/modules directory's name, e.g.
	// 6.1.0-57-amd64); "" when unknown.
	KernelRelease string
	Size          TreeSize // the filtered tree, measured by the host probe
	Tools         Found    // the host tools the probe found, by Tool.Name
	// CanMount says that vmfsbench may mount (CAP_SYS_ADMIN): the ext4 build reads the tree
	// through a private, read-only mount view.
	CanMount bool
	// Survey is what the host probe found in the tree that not every method carries.
	Survey tree.Report
}

// StepKind names one kind of thing done for a cell; the runner times each kind as a phase.
type StepKind string

// Step kinds, in the order a cell runs them.
const (
	StepPrepareCache StepKind = "prepare-cache"
	StepBuildImage   StepKind = "build-image"
	StepStartDaemon  StepKind = "start-daemon"
	StepInitramfs    StepKind = "initramfs" // the cell's initramfs, written for the boot
	StepBoot         StepKind = "boot"
	StepTransfer     StepKind = "transfer"
	StepMount        StepKind = "mount"
	StepWorkload     StepKind = "workload"
	StepTeardown     StepKind = "teardown"
)

// Step is one thing done for a cell, with the exact host commands it runs.
type Step struct {
	Kind     StepKind   `json:"kind"`
	Desc     string     `json:"desc"`
	Commands [][]string `json:"commands,omitempty"` // the host commands, in the order they run
	Guest    []string   `json:"guest,omitempty"`    // what the agent does, written as shell commands
	// Images are the files a build-image step makes that carry the tree and that the guest
	// never writes (attached read-only or copy-on-write). They depend only on the filtered
	// tree and the step's commands, so `vmfsbench exec` may keep them and use them again.
	Images []string `json:"images,omitempty"`
	// Run does the step on the host: Go code around Commands (an exclusion list written
	// first, a daemon supervised, a stream sent). nil runs Commands one after the other.
	// The undo action, run at teardown even when the step failed, may be nil.
	Run func(ctx context.Context, env Env) (undo func(), err error) `json:"-"`
}

// Setup is everything a method does for one cell, resolved before the cell runs.
type Setup struct {
	Modules  []string        // guest kernel modules (dependencies are resolved later)
	Steps    []Step          // host steps: build an image, start a daemon, stream the tree
	Devices  []Device        // what the method attaches to the VM
	Guest    []protocol.Step // what the agent does to present the tree at the mountpoint
	Warnings []string        // what the method cannot present as the spec asks
	// HostOwners says that the guest sees the host's owners whatever tree.owner says (a
	// share without id-mapped mounts): the workload then runs as root.
	HostOwners bool
	// Refused, when set, says why the cell cannot work on this host and tree: it fails with
	// that reason before anything is timed.
	Refused string
	// Facts are what the method chose on this host, recorded with the cell's result: the
	// ext4 build's route, the virtiofs daemon's flavour and version, its file handles and
	// owner mapping.
	Facts map[string]string
}

// Method is one way of giving the guest the tree. Everything about a method lives in its
// file: nothing outside this package names one.
type Method interface {
	// Name is the method's name in specs.
	Name() string
	// Params is the method's parameter table, in the order cell IDs list them; the spec
	// loader and the JSON Schema are built from it.
	Params() []param.Def
	// Tools are the host tools the cells of p run, probed once before planning.
	Tools(p Params) []Tool
	// Carries says whether the tree's entry f reaches the guest through the method as it
	// is on the host; when not, why (an empty why keeps the finding's own reason).
	Carries(f tree.Finding) (ok bool, why string)
	// Plan resolves the cell: host steps, devices, guest steps, modules, warnings.
	Plan(c Config) (Setup, error)
}

// SpecChecker is a method that refuses some of its parameters' values whatever the host
// (a combination that cannot work, a guest architecture that lacks a device): `validate`
// says so with the spec's file:line:col, and the plan refuses the same.
type SpecChecker interface {
	// SpecRefusal says why the cell of c cannot run on any host, or nil. It reads only c's
	// Params, Arch, Memory and Mountpoint.
	SpecRefusal(c Config) error
}

// CheckSpec is m's SpecRefusal of c, or nil for a method without one.
func CheckSpec(m Method, c Config) error {
	if s, ok := m.(SpecChecker); ok {
		return s.SpecRefusal(c)
	}
	return nil
}

// Facter is a method that records what it chose on this host apart from its Setup (see
// Setup.Facts); PlanCell merges them.
type Facter interface {
	Facts(c Config) map[string]string
}

// HandBuilder is an image method that says what someone would run by hand to build the same
// image, for the benchmarks to time its build against.
type HandBuilder interface {
	// HandBuild is that command: the build's own options on src, a copy of the tree already
	// filtered and owned as the spec asks, with nothing excluded.
	HandBuild(c Config, src string) ([]string, error)
	// BeyondHand says what the method's build does that the command by hand does not.
	BeyondHand() string
}

// PlanCell is m.Plan(c) with the method's Facts, if any, merged into the plan's.
func PlanCell(m Method, c Config) (Setup, error) {
	if err := CheckSpec(m, c); err != nil {
		return Setup{}, err
	}
	p, err := m.Plan(c)
	if err != nil {
		return p, err
	}
	if f, ok := m.(Facter); ok {
		facts := maps.Clone(p.Facts)
		if facts == nil {
			facts = map[string]string{}
		}
		maps.Copy(facts, f.Facts(c))
		p.Facts = facts
	}
	return p, nil
}

// Env is what a step's Run may use besides its Config.
type Env struct {
	Log     io.Writer     // the cell's host log; a *Log also keeps the commands the steps ran
	Matcher *tree.Matcher // the spec's exclusions
	// Abort ends the cell now with err, e.g. when a helper daemon dies while the guest runs;
	// callable from any goroutine; nil if unsupported.
	Abort func(err error)
}

// Log is a cell's host log: the output of its host commands, and the commands themselves.
type Log struct {
	W    io.Writer
	mu   sync.Mutex
	cmds [][]string
}

// Write implements io.Writer.
func (l *Log) Write(p []byte) (int, error) {
	if l == nil || l.W == nil {
		return len(p), nil
	}
	return l.W.Write(p)
}

// Ran notes that argv was started.
func (l *Log) Ran(argv []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cmds = append(l.cmds, slices.Clone(argv))
}

// Commands returns the commands started so far, and forgets them.
func (l *Log) Commands() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cmds
	l.cmds = nil
	return c
}

// ran tells log, when it is a *Log, that argv was started.
func ran(log io.Writer, argv []string) {
	if l, ok := log.(*Log); ok && l != nil {
		l.Ran(argv)
	}
}

// RunCommands is the Run of a step that only runs its commands.
func RunCommands(ctx context.Context, env Env, cmds [][]string) error {
	for _, argv := range cmds {
		if err := runTool(ctx, env.Log, argv, nil); err != nil {
			return err
		}
	}
	return nil
}

var (
	methods = map[string]Method{}
	order   []string
)

// register adds m to the methods specs can name; each method's file calls it from init.
func register(m Method) {
	methods[m.Name()] = m
	order = append(order, m.Name())
}

// Names returns the method names in alphabetical order.
func Names() []string { return slices.Sorted(slices.Values(order)) }

// Lookup returns the method called name.
func Lookup(name string) (Method, error) {
	m, ok := methods[name]
	if !ok {
		return nil, fmt.Errorf("unknown method %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return m, nil
}

// Guest paths the methods share.
const (
	lowerDir  = "/vmfsbench/lower"
	shareTag  = "tree"
	dataPort  = "data"
	guestPort = 2222
)

// upperParam is the parameter of the methods with an overlay: where its upper layer lives.
var upperParam = param.Def{Name: "upper", Kind: param.KindEnum, Default: "tmpfs", Enum: []string{"tmpfs", "disk"},
	Help: "where the overlay's upper layer lives in the guest: a tmpfs or a scratch disk"}

// overlay returns the guest steps that put a writable overlay over the read-only lower layer.
// A share exports the whole tree, so its overlay hides the excluded paths with whiteouts.
// With upper: disk the upper layer is on the scratch disk (scratchSteps, scratchDevices).
func overlay(c Config, share bool) []protocol.Step {
	s := protocol.Step{Kind: protocol.StepOverlay, Name: "overlay", Lower: lowerDir, Target: c.Mountpoint}
	if share {
		s.Hide = c.Hidden
	}
	if c.Params.Str("upper") == "disk" {
		s.UpperDevice = scratchDisk(share)
	}
	return []protocol.Step{s}
}

// scratchDisk is the guest's name of the scratch disk. The guest names virtio-blk disks vda,
// vdb, ... in PCI order, which is the order QEMU gets them; a method's devices come before
// the rootfs (plan.QEMUOptions), and an image method attaches its tree image first. So the
// scratch disk is vda for a share or a tar stream and vdb behind a tree image.
func scratchDisk(share bool) string {
	if share {
		return "/dev/vda"
	}
	return "/dev/vdb"
}

// ext4Modules mount an ext4 disk: crc32c_generic first, as ext4's soft dependency (the
// SSE4.2 crc32c-intel may be missing under TCG).
var ext4Modules = []string{"virtio_blk", "crc32c_generic", "ext4"}

// overlayModules are a lower layer's modules plus what the overlay's upper layer needs.
func overlayModules(c Config, lower ...string) []string {
	mods := append(lower, "overlay")
	if c.Params.Str("upper") == "disk" {
		mods = append(mods, ext4Modules...)
	}
	return mods
}

func img(c Config, name string) string { return filepath.Join(c.Work, name) }

func sock(c Config, name string) string { return filepath.Join(c.Sockets, name) }

func ownerWarning(method string, c Config) []string {
	if c.Owner == nil {
		return nil
	}
	return []string{fmt.Sprintf("%s cannot present tree.owner %d:%d (no id-mapped mounts): the guest sees the host's owners",
		method, c.Owner.UID, c.Owner.GID)}
}

// GuestCommand renders an agent step the way a person would type it, for plans and logs.
func GuestCommand(s protocol.Step) string {
	switch s.Kind {
	case protocol.StepMount:
		cmd := "mount -t " + s.FSType
		opts := s.Options
		if s.ReadOnly {
			opts = join(",", "ro", opts)
		}
		if opts != "" {
			cmd += " -o " + opts
		}
		return cmd + " " + s.Source + " " + s.Target
	case protocol.StepOverlay:
		upper := "tmpfs"
		if s.UpperDevice != "" {
			upper = s.UpperDevice
		}
		cmd := fmt.Sprintf("mount -t overlay -o lowerdir=%s,upperdir=<%s>/upper,workdir=<%s>/work overlay %s",
			s.Lower, upper, upper, s.Target)
		if s.Hide != nil {
			cmd = fmt.Sprintf("mknod <upper>/PATH c 0 0 for %d excluded paths; %s", len(s.Hide), cmd)
		}
		return cmd
	case protocol.StepReceiveTar:
		return fmt.Sprintf("tar -x -C %s < /dev/virtio-ports/%s", s.Target, s.Port)
	case protocol.StepMkdir:
		return "mkdir -p " + s.Path
	case protocol.StepNetUp:
		return "ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2"
	case protocol.StepSSHD:
		return fmt.Sprintf("sshd -p %s (host key and client key generated for the cell, cipher %s, no password) until one session ran: tar -x -C %s",
			strings.TrimPrefix(s.Listen, ":"), s.Cipher, s.Target)
	}
	return s.Kind
}

func join(sep string, parts ...string) string {
	out := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		if out != "" {
			out += sep
		}
		out += p
	}
	return out
}
