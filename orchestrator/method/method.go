// Package method holds the ways a host tree reaches the guest, one file per method behind one
// interface: what each builds or starts on the host, the devices it attaches to QEMU, the
// guest kernel modules it needs and the steps the guest agent takes to present the tree at the
// mountpoint.
package method

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
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

// Config is what a method knows about the cell it serves.
type Config struct {
	Params     Params
	Tree       string      // the host tree's root
	Work       string      // the cell's scratch directory on the host (images, logs)
	Sockets    string      // the cell's short directory for unix sockets
	Hidden     []string    // the tree's top-most excluded paths (tree.ExcludedRoots)
	HostPort   int         // a free loopback TCP port for a port forward; 0 in plans
	Exclude    []string    // the spec's exclusion rules
	Owner      *spec.Owner // how files should appear in the guest; nil = as on the host
	Mountpoint string      // where the guest sees the tree
	Memory     int64       // guest memory in bytes
	TreeBytes  int64       // content bytes of the filtered tree; 0 when unknown (plans)
}

// Step kinds, in the order a cell runs them.
const (
	StepPrepareCache = "prepare-cache"
	StepBuildImage   = "build-image"
	StepStartDaemon  = "start-daemon"
	StepBoot         = "boot"
	StepTransfer     = "transfer"
	StepMount        = "mount"
	StepWorkload     = "workload"
	StepTeardown     = "teardown"
)

// Step is one thing done for a cell, with the exact host command where there is one.
type Step struct {
	Kind  string   `json:"kind"`
	Desc  string   `json:"desc"`
	Argv  []string `json:"argv,omitempty"`  // the host command
	Guest []string `json:"guest,omitempty"` // what the agent does, written as shell commands
}

// Method is one way of giving the guest the tree.
type Method interface {
	// Name is the method's name in specs.
	Name() string
	// Modules are the guest kernel modules the method needs (dependencies are resolved later).
	Modules(c Config) []string
	// HostSteps are the host-side steps: build an image, start a daemon, stream the tree.
	HostSteps(c Config) []Step
	// Devices describes what the method attaches to the VM.
	Devices(c Config) []Device
	// GuestSteps make the tree appear at c.Mountpoint.
	GuestSteps(c Config) []protocol.Step
	// Warnings says what the method cannot present as the spec asks.
	Warnings(c Config) []string
}

// Device is a VM attachment, turned into QEMU options by the qemu package's caller.
type Device struct {
	Kind      string // "block", "virtfs", "vhost-user-fs", "serial-port", "serial-server", "user-net"
	Path      string // image file, shared directory or socket
	Tag       string // mount tag or port name
	ReadOnly  bool
	Snapshot  bool   // copy-on-write: guest writes never reach the file
	Security  string // 9p security model
	QueueSize int    // vhost-user-fs queue size
	HostPort  int    // user-net forward, 0 = chosen at run time
	GuestPort int
}

var methods = map[string]Method{}

func register(m Method) { methods[m.Name()] = m }

// Lookup returns the method called name.
func Lookup(name string) (Method, error) {
	m, ok := methods[name]
	if !ok {
		names := make([]string, 0, len(methods))
		for n := range methods {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown method %q (known: %v)", name, names)
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

// HostOwners is implemented by the methods that show the guest the host's owners whatever
// tree.owner says (shares without id-mapped mounts).
type HostOwners interface {
	KeepsHostOwners() bool
}

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

// HostEnv is what a method's host step may use besides its Config.
type HostEnv struct {
	Log     io.Writer     // the cell's host log
	Matcher *tree.Matcher // the spec's exclusions
	// Abort ends the cell now with err, e.g. when a helper daemon dies while the guest runs;
	// callable from any goroutine; nil if unsupported.
	Abort func(err error)
}

// HostRunner is implemented by methods whose host steps need Go code (an exclusion list
// before mksquashfs, a daemon to supervise, a stream to send). RunHostStep returns an undo
// action, run at teardown even when the step failed, or nil.
type HostRunner interface {
	RunHostStep(ctx context.Context, s Step, c Config, env HostEnv) (undo func(), err error)
}
