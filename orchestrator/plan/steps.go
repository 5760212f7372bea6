package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Host is what the host probe found before planning: every fact about this machine and the
// tree that a plan needs. Planning itself touches nothing.
type Host struct {
	Tree    string          // the host tree, after resolving tree.synthetic and symlinks
	Hidden  []string        // the tree's top-most excluded paths
	Size    method.TreeSize // the filtered tree
	Kernel  string          // the guest kernel image
	Modules string          // the kernel's lib/modules/<version>; "" when unknown
	// KernelModules is Modules' modules.dep and modules.builtin as the probe read them; nil
	// when unknown. Each cell's modules are resolved through it.
	KernelModules *initramfs.ModuleIndex
	Rootfs        string       // guest.rootfs resolved ("built" names the cached image)
	Tools         method.Found // the host tools the methods of the spec run
	// CanMount says that vmfsbench may mount (CAP_SYS_ADMIN).
	CanMount bool
	// Survey lists the tree's entries that some method cannot carry identically.
	Survey tree.Report
	// Accel is kvm or tcg, decided by a probe when the spec says auto; AccelReason says why.
	Accel, AccelReason string
	// Agent is the static guest agent for the guest's arch, Cache the cache directory where
	// base initramfs archives are kept, and Busybox whether a static busybox for that arch is
	// packed too. A plan that only shows the cells may leave them empty.
	Agent, Cache string
	Busybox      bool
}

// Dirs are where a run's files go: real directories for a run, placeholders for `vmfsbench
// plan` (PlanDirs), so that the plan shows the commands a run executes.
type Dirs struct {
	Run     string // the run's output directory
	Sockets string // a short directory for unix sockets (sun_path holds 107 bytes)
	// HostPort returns a free loopback port for a cell's port forward.
	HostPort func() int
}

// Placeholders of the directories of a run, as `vmfsbench plan` shows them.
const (
	RunPlaceholder     = "$RUN"
	SocketsPlaceholder = "$SOCKETS"
)

// PlanHostPort stands in for the free loopback port a run picks for a port forward.
const PlanHostPort = 10222

// PlanDirs are the placeholders `vmfsbench plan` shows for a run's directories.
var PlanDirs = Dirs{Run: RunPlaceholder, Sockets: SocketsPlaceholder, HostPort: func() int { return PlanHostPort }}

// Choices are the choices of `vmfsbench run` that change what a cell does.
type Choices struct {
	// Verify makes the guest check, after the workload, the tree's owners and writability.
	Verify bool
	// Fault is a test hook handed to the agent (see protocol.Job.Fault).
	Fault string
	// AsGiven runs the workload's command exactly as given: no lit report (-o) is added to an
	// llvm-lit command, as `vmfsbench exec` runs the user's own command.
	AsGiven bool
}

// Work is the cell's scratch directory on the host.
func (d Dirs) Work(id string) string { return filepath.Join(d.Run, "work", FileName(id)) }

// Logs is the cell's log directory: console, events, workload output, helper logs.
func (d Dirs) Logs(id string) string { return filepath.Join(d.Run, "logs", FileName(id)) }

// SocketDir is the cell's directory for unix sockets: short, named by a hash of the cell ID.
func (d Dirs) SocketDir(id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(d.Sockets, hex.EncodeToString(sum[:4]))
}

// MethodConfig is what the cell's method is planned with on host h.
func MethodConfig(e *spec.Experiment, c *Cell, h Host) method.Config {
	return method.Config{
		Params:     method.Params(c.Params),
		Tree:       h.Tree,
		Work:       c.Work,
		Sockets:    c.Sockets,
		Hidden:     h.Hidden,
		HostPort:   c.HostPort,
		Size:       h.Size,
		Tools:      h.Tools,
		CanMount:   h.CanMount,
		Survey:     h.Survey,
		Exclude:    e.Tree.Exclude,
		Owner:      e.Tree.Owner,
		Mountpoint: GuestTreePath(e),
		Memory:     e.QEMU.Memory,
		Arch:       e.Guest.Arch,
		// kernel.Kernel.Version is this name too.
		KernelRelease: kernelRelease(h.Modules),
	}
}

// kernelRelease is the release of the kernel whose lib/modules/<release> directory is dir.
func kernelRelease(dir string) string {
	if dir == "" {
		return ""
	}
	return filepath.Base(dir)
}

// BaseModules are loaded in every guest: the PCI transport of every virtio device (a module
// in Debian's kernel that no driver depends on) and virtio-serial for the control channel.
var BaseModules = []string{"virtio_pci", "virtio_console"}

// Modules lists the guest kernel modules a cell needs, before dependency resolution.
func modules(e *spec.Experiment, mp method.Setup) []string {
	mods := append(append([]string(nil), BaseModules...), mp.Modules...)
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

// Expand returns the experiment's cells, each resolved completely from the host's facts and
// the run's directories: the method's plan, the guest job, the QEMU command and every step
// with its exact commands. The runner executes exactly these cells.
func Expand(e *spec.Experiment, h Host, d Dirs, o Choices) ([]Cell, error) {
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
		c.Work, c.Logs, c.Sockets = d.Work(c.ID), d.Logs(c.ID), d.SocketDir(c.ID)
		c.HostPort = d.HostPort() // used by the methods that forward a port
		mp, err := method.PlanCell(m, MethodConfig(e, c, h))
		if err != nil {
			return nil, fmt.Errorf("cell %s: %w", c.ID, err)
		}
		c.Refused = mp.Refused
		c.Modules = modules(e, mp)
		if h.KernelModules != nil {
			mods, err := h.KernelModules.Closure(c.Modules)
			if err != nil && c.Refused == "" {
				c.Refused = "the guest kernel cannot load the cell's modules: " + err.Error()
			}
			for _, x := range mods {
				c.LoadOrder = append(c.LoadOrder, x.Name)
			}
		}
		c.Limits, c.Scale = limits(e), e.Workload.Scale
		c.Warnings = append(mp.Warnings, h.Survey.Warnings(m)...)
		c.Facts = mp.Facts
		if runsAsRoot(e, mp) && len(e.Workload.Command) > 0 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("the workload runs as root, not guest.user %d:%d, since %s keeps the host's owners",
				e.Guest.User.UID, e.Guest.User.GID, c.Method))
		}
		c.Job = guestJob(e, c, mp, o)
		if c.Guest, err = session(e, c, mp.Devices, h); err != nil {
			return nil, fmt.Errorf("cell %s: %w", c.ID, err)
		}
		if c.Refused == "" {
			c.Refused = missingDevice(&c.Guest, h)
		}
		if c.Steps, err = steps(e, c, mp); err != nil {
			return nil, err
		}
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
		if _, ok := d.(method.Disk); ok {
			n++
		}
	}
	return RootfsSteps(fmt.Sprintf("/dev/vd%c", 'a'+n))
}

// RootfsSteps mount the root filesystem on disk at RootfsDir and the kernel file systems a
// workload chrooted there expects.
func RootfsSteps(disk string) []protocol.Step {
	in := func(p string) string { return RootfsDir + p }
	return []protocol.Step{
		{Kind: protocol.StepMount, Name: "rootfs", Source: disk, Target: RootfsDir, FSType: "ext4"},
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
func runsAsRoot(e *spec.Experiment, mp method.Setup) bool {
	return mp.HostOwners && e.Guest.User != nil && e.Tree.Owner != nil
}

// guestJob is the job the agent runs for the cell.
func guestJob(e *spec.Experiment, c *Cell, mp method.Setup, o Choices) protocol.Job {
	w := protocol.Workload{Kind: e.Workload.Builtin, Root: e.Guest.Mountpoint, Timeout: e.Workload.Timeout.Seconds()}
	if len(e.Workload.Command) > 0 {
		w.Kind, w.Cwd = protocol.WorkloadExec, e.Workload.Cwd
		w.Argv = slices.Clone(e.Workload.Command)
		if !o.AsGiven {
			w.Argv, w.LitReport = litReport(e.Workload.Command)
		}
		w.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"}
		for _, k := range slices.Sorted(maps.Keys(e.Workload.Env)) {
			w.Env = append(w.Env, k+"="+e.Workload.Env[k])
		}
		if u := e.Guest.User; u != nil && !runsAsRoot(e, mp) {
			w.UID, w.GID = u.UID, u.GID
		}
	}
	job := protocol.Job{Cell: c.ID, Steps: mp.Guest, Workload: w, Mountpoint: e.Guest.Mountpoint, Fault: o.Fault}
	if e.Guest.Rootfs != "" {
		job.Steps = append(rootfsSteps(mp.Devices), job.Steps...)
		if w.Kind == protocol.WorkloadExec {
			job.Workload.Chroot = RootfsDir // Root and Mountpoint are then paths inside it
		} else {
			job.Workload.Root, job.Mountpoint = GuestTreePath(e), GuestTreePath(e)
		}
	}
	if o.Verify {
		job.Verify = &protocol.Verify{}
		for _, s := range job.Steps {
			if s.Kind == protocol.StepOverlay {
				job.Verify.Lower = s.Lower
			}
		}
	}
	return job
}

// LitReportFile is the JSON report an llvm-lit workload writes (lit's -o), in its working
// directory in the guest, unless the command names its own.
const LitReportFile = "vmfsbench-lit.json"

// litReport returns the workload command, with -o LitReportFile added when it runs llvm-lit
// (or lit) without an -o of its own, and the report's path ("" when the command is not lit):
// the agent returns every test's result and time from it.
func litReport(argv []string) ([]string, string) {
	base := path.Base(argv[0])
	if base != "llvm-lit" && base != "lit" && base != "lit.py" {
		return argv, ""
	}
	for i, a := range argv[1:] {
		if v, ok := strings.CutPrefix(a, "--output="); ok {
			return argv, v
		}
		if (a == "-o" || a == "--output") && i+2 < len(argv) {
			return argv, argv[i+2]
		}
		if v, ok := strings.CutPrefix(a, "-o"); ok && v != "" && !strings.HasPrefix(a, "--") {
			return argv, v
		}
	}
	return append(slices.Clip(argv), "-o", LitReportFile), LitReportFile
}

// dropCaches is what the prepare-cache step writes, as a shell would say it.
const dropCaches = "sync; echo 3 > /proc/sys/vm/drop_caches"

func steps(e *spec.Experiment, c *Cell, mp method.Setup) ([]method.Step, error) {
	var out []method.Step
	switch c.Cache {
	case "empty":
		out = append(out, method.Step{Kind: method.StepPrepareCache,
			Desc: "drop the host page cache (" + dropCaches + ", checked in /proc/meminfo)"})
	case "warm":
		out = append(out, method.Step{Kind: method.StepPrepareCache,
			Desc: "drop the host page cache (" + dropCaches + "), then read every file of the filtered tree (checked in /proc/meminfo)"})
	default:
		out = append(out, method.Step{Kind: method.StepPrepareCache, Desc: "leave the host page cache as it is"})
	}
	var after []method.Step
	for _, s := range mp.Steps {
		if s.Kind == method.StepTransfer {
			after = append(after, s)
		} else {
			out = append(out, s)
		}
	}
	argv, err := c.Guest.Command()
	if err != nil {
		return nil, fmt.Errorf("cell %s: %w", c.ID, err)
	}
	out = append(out, initramfsStep(c), method.Step{Kind: method.StepBoot, Desc: "boot the guest; the agent loads the packed modules",
		Commands: [][]string{argv}})
	out = append(out, after...)
	mount := method.Step{Kind: method.StepMount, Desc: "present the tree at " + e.Guest.Mountpoint}
	for _, s := range c.Job.Steps {
		if s.Kind != protocol.StepNetUp {
			mount.Guest = append(mount.Guest, method.GuestCommand(s))
		}
	}
	out = append(out, mount)
	wl := method.Step{Kind: method.StepWorkload, Desc: "run the workload (timeout " + e.Workload.Timeout.String() + ")"}
	if c.Job.Workload.Kind == protocol.WorkloadExec {
		cmd := "cd " + filepath.Join(e.Guest.Mountpoint, e.Workload.Cwd) + " && " + shellJoin(c.Job.Workload.Argv)
		if e.Guest.Rootfs != "" {
			cmd = "chroot /vmfsbench/rootfs sh -c " + shellQuote(cmd)
		}
		if u := e.Guest.User; u != nil && !runsAsRoot(e, mp) {
			cmd = fmt.Sprintf("as %d:%d: %s", u.UID, u.GID, cmd)
		}
		wl.Guest = []string{cmd}
	} else {
		wl.Guest = []string{"vmfsbench-agent " + c.Job.Workload.Kind + " " + e.Guest.Mountpoint}
	}
	out = append(out, wl)
	out = append(out, method.Step{Kind: method.StepTeardown, Desc: "guest powers off; stop helpers; remove the cell's images and sockets"})
	return out, nil
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
