package plan

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// Files of a cell's work directory that the boot step names.
const (
	InitrdFile  = "initrd.cpio"
	ConsoleFile = "console.log"
	ControlSock = "ctl.sock"
)

// Initrd is the cell's initramfs: the cached base archive and the cell's job.
func (c *Cell) Initrd() string { return filepath.Join(c.Work, InitrdFile) }

// ControlSocket is where QEMU listens for the cell's control port.
func (c *Cell) ControlSocket() string { return filepath.Join(c.Sockets, ControlSock) }

// Console is the guest console's log file.
func (c *Cell) Console() string { return filepath.Join(c.Logs, ConsoleFile) }

// session is the cell's guest: the spec's machine, the kernel and the cell's initramfs (the
// agent, the cell's modules, the spec's extra files and the job), the control port, and the
// method's devices (block devices first, so the tree's disk is /dev/vda), then the rootfs
// copy-on-write and the spec's raw arguments.
func session(e *spec.Experiment, c *Cell, devs []method.Device, h Host) (guest.Session, error) {
	arch, err := qemu.ParseArch(e.Guest.Arch)
	if err != nil {
		return guest.Session{}, err
	}
	s := guest.Session{Arch: arch, Binary: e.QEMU.Binary, Machine: e.QEMU.Machine, Accel: h.Accel,
		CPUs: e.QEMU.CPUs, Memory: e.QEMU.Memory, Kernel: h.Kernel, Args: e.QEMU.Args,
		Image: guest.Image{Cache: h.Cache, Job: c.Job, Base: initramfs.Base{Agent: h.Agent, ModulesDir: h.Modules,
			Modules: c.Modules, Busybox: h.Busybox, Extras: extras(e.Guest.Files)}},
		Files: guest.Files{Initrd: c.Initrd(), Console: c.Console(), Control: c.ControlSocket()}}
	for _, d := range devs {
		s.Devices = append(s.Devices, d.Option())
	}
	if e.Guest.Rootfs != "" {
		img := h.Rootfs
		if img == "" {
			img = e.Guest.Rootfs
		}
		// snapshot=on: the image never changes; on the bus of the method's disks, so that the
		// guest names it after them.
		s.Devices = append(s.Devices, qemu.BlockDeviceWith(img, false, true, qemu.Block{Bus: method.DiskBus(devs)}))
	}
	return s, nil
}

// initramfsStep writes the cell's initramfs where its QEMU command expects it: the base
// archive (cached by its content) and the cell's job. Its time is the boot's.
func initramfsStep(c *Cell) method.Step {
	b := c.Guest.Image.Base
	what := "the agent, the packed modules"
	if b.Busybox {
		what += ", busybox"
	}
	if len(b.Extras) > 0 {
		what += fmt.Sprintf(", %d files of guest.files", len(b.Extras))
	}
	return method.Step{Kind: method.StepInitramfs,
		Desc: "write the initramfs " + c.Initrd() + ": the cached base archive (" + what + ") and the cell's job"}
}

// extras are the spec's guest.files as initramfs entries.
func extras(files map[string]string) []initramfs.File {
	var out []initramfs.File
	for g, h := range files {
		out = append(out, initramfs.File{Name: strings.TrimPrefix(g, "/"), Src: h, Mode: 0o755})
	}
	return out
}

// Limits are what the runner holds a cell to, from the spec.
type Limits struct {
	Boot     time.Duration `json:"boot_timeout"`     // for the agent to start (qemu.boot_timeout)
	Workload time.Duration `json:"workload_timeout"` // for the workload (workload.timeout)
	// BootSilence, when not 0, is how long the console of a guest that prints its boot may
	// stay still before its kernel runs the agent: the boot is taken as hung then.
	BootSilence time.Duration `json:"boot_silence,omitempty"`
	// OutputCap bounds what the cell keeps of the guest's output (workload.output_cap).
	OutputCap int64 `json:"output_cap"`
}

// BootSilence is how long the console of a guest that prints its boot (arch.Arch.EarlyCon)
// may stay still before its kernel runs the agent, before the boot is taken as hung and
// booted again. On a host loaded 30 to 40 deep, riscv64 kernels went up to about 25 s
// without a line.
const BootSilence = time.Minute

// limits are e's limits of its cells. A guest that prints its boot (an arch with an early
// console, on its default machine) has its console watched for BootSilence.
func limits(e *spec.Experiment) Limits {
	l := Limits{Boot: e.QEMU.BootTimeout, Workload: e.Workload.Timeout, OutputCap: e.Workload.OutputCap}
	if a, err := arch.Lookup(e.Guest.Arch); err == nil && a.EarlyCon != "" && cmp.Or(e.QEMU.Machine, a.Machine) == a.Machine {
		l.BootSilence = BootSilence
	}
	return l
}

// missingDevice says why the cell cannot boot when its command attaches a device model that
// the probed QEMU binary does not have; "" when it has them all or was not asked.
func missingDevice(s *guest.Session, h Host) string {
	have, ok := h.Tools["qemu"].Detail.(qemu.Caps)
	if !ok || have.Models == nil {
		return ""
	}
	argv, err := s.Command()
	if err != nil {
		return ""
	}
	for _, m := range qemu.ModelsOf(argv) {
		if !slices.Contains(have.Models, m) {
			return fmt.Sprintf("%s (%s) has no device %s: its -device help does not list it", argv[0], have.Version, m)
		}
	}
	return ""
}
