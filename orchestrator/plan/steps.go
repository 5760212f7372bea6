package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vmfsbench/vmfsbench/guestinit/initramfs"
	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// Paths are the host locations a plan's commands refer to. `vmfsbench plan` fills them with
// what it can know before a run (the cached kernel, `$RUN` for the run directory).
type Paths struct {
	Run     string // the run's output directory
	Tree    string // the host tree, after resolving tree.synthetic
	Kernel  string // the guest kernel image
	Modules string // the kernel's lib/modules/<version>
	Sockets string // a short directory for unix sockets (sun_path holds 107 bytes)
	// Hidden are the tree's top-most excluded paths, found by the run's walk; nil in plans.
	Hidden []string
	// HostPort returns a free loopback port for a cell's port forward; nil in plans.
	HostPort func() int
	// TreeBytes is the content size of the filtered tree; 0 in plans.
	TreeBytes int64
	// Rootfs is the guest rootfs image, guest.rootfs resolved ("built" names the cached one).
	Rootfs string
}

// Work is the cell's scratch directory on the host.
func (p Paths) Work(c Cell) string { return filepath.Join(p.Run, "work", FileName(c.ID)) }

// Logs is the cell's log directory: console, events, workload output, helper logs.
func (p Paths) Logs(c Cell) string { return filepath.Join(p.Run, "logs", FileName(c.ID)) }

// SocketDir is the cell's directory for unix sockets: short, named by a hash of the cell ID.
func (p Paths) SocketDir(c Cell) string {
	sum := sha256.Sum256([]byte(c.ID))
	return filepath.Join(p.Sockets, hex.EncodeToString(sum[:4]))
}

// MethodConfig is what the cell's method needs to know.
func MethodConfig(e *spec.Experiment, c Cell, p Paths) method.Config {
	return method.Config{
		Params:     method.Params(c.Params),
		Tree:       p.Tree,
		Work:       p.Work(c),
		Sockets:    p.SocketDir(c),
		Hidden:     p.Hidden,
		HostPort:   hostPort(p),
		TreeBytes:  p.TreeBytes,
		Exclude:    e.Tree.Exclude,
		Owner:      e.Tree.Owner,
		Mountpoint: GuestTreePath(e),
		Memory:     e.QEMU.Memory,
	}
}

func hostPort(p Paths) int {
	if p.HostPort == nil {
		return 0
	}
	return p.HostPort()
}

// BaseModules are loaded in every guest: the PCI transport of every virtio device (a module
// in Debian's kernel that no driver depends on) and virtio-serial for the control channel.
var BaseModules = []string{"virtio_pci", "virtio_console"}

// Modules lists the guest kernel modules a cell needs, before dependency resolution.
func Modules(e *spec.Experiment, m method.Method, cfg method.Config) []string {
	mods := append(append([]string(nil), BaseModules...), m.Modules(cfg)...)
	if e.Guest.Rootfs != "" {
		mods = append(mods, "virtio_blk", "crc32c_generic", "ext4")
	}
	seen := map[string]bool{}
	out := mods[:0]
	for _, x := range mods {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Expand returns the experiment's cells with their steps filled in.
func Expand(e *spec.Experiment, p Paths) ([]Cell, error) {
	cells, err := Cells(e)
	if err != nil {
		return nil, err
	}
	for i := range cells {
		c := &cells[i]
		m, err := method.Lookup(c.Method)
		if err != nil {
			return nil, err
		}
		cfg := MethodConfig(e, *c, p)
		c.Modules = Modules(e, m, cfg)
		if p.Modules != "" {
			if mods, err := initramfs.ModuleClosure(p.Modules, c.Modules); err == nil {
				for _, x := range mods {
					c.LoadOrder = append(c.LoadOrder, x.Name)
				}
			}
		}
		c.Warnings = m.Warnings(cfg)
		if runsAsRoot(e, m) && len(e.Workload.Command) > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("the workload runs as root, not guest.user %d:%d, since %s keeps the host's owners",
				e.Guest.User.UID, e.Guest.User.GID, c.Method))
		}
		c.Steps = steps(e, *c, m, cfg, p)
	}
	return cells, nil
}

// RootfsDir is where the agent mounts guest.rootfs; the workload chroots into it.
const RootfsDir = "/vmfsbench/rootfs"

// GuestTreePath is where the tree appears in the guest's own namespace: the mountpoint, inside
// the rootfs when the workload runs chrooted.
func GuestTreePath(e *spec.Experiment) string {
	if e.Guest.Rootfs != "" {
		return RootfsDir + e.Guest.Mountpoint
	}
	return e.Guest.Mountpoint
}

// rootfsSteps mount the rootfs image (attached after the method's disks, copy-on-write) and
// the kernel file systems a chrooted workload expects inside it.
func rootfsSteps(devs []method.Device) []protocol.Step {
	n := 0
	for _, d := range devs {
		if d.Kind == "block" {
			n++
		}
	}
	in := func(p string) string { return RootfsDir + p }
	return []protocol.Step{
		{Kind: protocol.StepMount, Name: "rootfs", Source: fmt.Sprintf("/dev/vd%c", 'a'+n), Target: RootfsDir, FSType: "ext4"},
		{Kind: protocol.StepMount, Name: "rootfs-proc", Source: "proc", Target: in("/proc"), FSType: "proc"},
		{Kind: protocol.StepMount, Name: "rootfs-sys", Source: "sysfs", Target: in("/sys"), FSType: "sysfs"},
		{Kind: protocol.StepMount, Name: "rootfs-dev", Source: "devtmpfs", Target: in("/dev"), FSType: "devtmpfs"},
		{Kind: protocol.StepMount, Name: "rootfs-shm", Source: "tmpfs", Target: in("/dev/shm"), FSType: "tmpfs", Options: "mode=1777"},
		{Kind: protocol.StepMount, Name: "rootfs-tmp", Source: "tmpfs", Target: in("/tmp"), FSType: "tmpfs", Options: "mode=1777"},
	}
}

// runsAsRoot says whether the cell's workload runs as root instead of guest.user: a share
// that keeps the host's owners cannot give guest.user the tree's ownership it expects, so the
// workload runs as root there, as the seed study did for 9p and virtiofs.
func runsAsRoot(e *spec.Experiment, m method.Method) bool {
	h, ok := m.(method.HostOwners)
	return ok && h.KeepsHostOwners() && e.Guest.User != nil && e.Tree.Owner != nil
}

// GuestJob is the job the agent runs for the cell (without test hooks).
func GuestJob(e *spec.Experiment, c Cell, m method.Method, cfg method.Config) protocol.Job {
	w := protocol.Workload{Kind: e.Workload.Builtin, Root: e.Guest.Mountpoint, Timeout: e.Workload.Timeout.Seconds()}
	if len(e.Workload.Command) > 0 {
		w.Kind, w.Argv, w.Cwd = protocol.WorkloadExec, e.Workload.Command, e.Workload.Cwd
		w.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"}
		for _, k := range slices.Sorted(maps.Keys(e.Workload.Env)) {
			w.Env = append(w.Env, k+"="+e.Workload.Env[k])
		}
		if u := e.Guest.User; u != nil && !runsAsRoot(e, m) {
			w.UID, w.GID = u.UID, u.GID
		}
	}
	job := protocol.Job{Cell: c.ID, Steps: m.GuestSteps(cfg), Workload: w, Mountpoint: e.Guest.Mountpoint}
	if e.Guest.Rootfs != "" {
		job.Steps = append(rootfsSteps(m.Devices(cfg)), job.Steps...)
		if w.Kind == protocol.WorkloadExec {
			job.Workload.Chroot = RootfsDir // Root and Mountpoint are then paths inside it
		} else {
			job.Workload.Root, job.Mountpoint = GuestTreePath(e), GuestTreePath(e)
		}
	}
	return job
}

func steps(e *spec.Experiment, c Cell, m method.Method, cfg method.Config, p Paths) []method.Step {
	var out []method.Step
	switch c.Cache {
	case "empty":
		out = append(out, method.Step{Kind: method.StepPrepareCache, Desc: "drop the host page cache (checked in /proc/meminfo)",
			Argv: []string{"sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"}})
	case "warm":
		out = append(out, method.Step{Kind: method.StepPrepareCache,
			Desc: "drop the host page cache, then read every file of the filtered tree (checked in /proc/meminfo)",
			Argv: []string{"sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"}})
	default:
		out = append(out, method.Step{Kind: method.StepPrepareCache, Desc: "leave the host page cache as it is"})
	}
	var after []method.Step
	for _, s := range m.HostSteps(cfg) {
		if s.Kind == method.StepTransfer {
			after = append(after, s)
		} else {
			out = append(out, s)
		}
	}
	boot := method.Step{Kind: method.StepBoot, Desc: "boot the guest; the agent loads the packed modules"}
	argv, err := BootArgv(e, c, m.Devices(cfg), p)
	if err != nil {
		boot.Desc += "; cannot build the QEMU command yet: " + err.Error()
	} else {
		boot.Argv = argv
	}
	out = append(out, boot)
	out = append(out, after...)
	job := GuestJob(e, c, m, cfg)
	mount := method.Step{Kind: method.StepMount, Desc: "present the tree at " + e.Guest.Mountpoint}
	for _, s := range job.Steps {
		if s.Kind != protocol.StepNetUp {
			mount.Guest = append(mount.Guest, method.GuestCommand(s))
		}
	}
	out = append(out, mount)
	wl := method.Step{Kind: method.StepWorkload, Desc: "run the workload (timeout " + e.Workload.Timeout.String() + ")"}
	if job.Workload.Kind == protocol.WorkloadExec {
		cmd := "cd " + filepath.Join(e.Guest.Mountpoint, e.Workload.Cwd) + " && " + shellJoin(e.Workload.Command)
		if e.Guest.Rootfs != "" {
			cmd = "chroot /vmfsbench/rootfs sh -c " + shellQuote(cmd)
		}
		if u := e.Guest.User; u != nil && !runsAsRoot(e, m) {
			cmd = fmt.Sprintf("as %d:%d: %s", u.UID, u.GID, cmd)
		}
		wl.Guest = []string{cmd}
	} else {
		wl.Guest = []string{"vmfsbench-agent " + job.Workload.Kind + " " + e.Guest.Mountpoint}
	}
	out = append(out, wl)
	out = append(out, method.Step{Kind: method.StepTeardown, Desc: "guest powers off; stop helpers; remove the cell's images and sockets"})
	return out
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin renders argv as one shell command line.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
