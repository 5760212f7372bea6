package plan

import (
	"path/filepath"

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

// qemuOptions are the options of the cell's VM: the spec's machine, the kernel and the cell's
// initrd, the control port, and the method's devices (block devices first, so the tree's disk
// is /dev/vda), then the rootfs copy-on-write, on the same bus as the method's disks.
func qemuOptions(e *spec.Experiment, c *Cell, devs []method.Device, h Host) ([]qemu.Fn, error) {
	arch, err := qemu.ParseArch(e.Guest.Arch)
	if err != nil {
		return nil, err
	}
	fns := []qemu.Fn{
		qemu.WithArch(arch),
		qemu.WithCPUs(e.QEMU.CPUs),
		qemu.WithMemory(e.QEMU.Memory),
		qemu.WithKernel(h.Kernel),
		qemu.WithInitrd(c.Initrd()),
		qemu.WithConsoleLog(c.Console()),
		qemu.VirtioSerialPort("ctl", c.ControlSocket()),
	}
	if h.Accel != "" {
		fns = append(fns, qemu.WithAccel(h.Accel))
	}
	if e.QEMU.Binary != "" {
		fns = append(fns, qemu.WithBinary(e.QEMU.Binary))
	}
	if e.QEMU.Machine != "" {
		fns = append(fns, qemu.WithMachine(e.QEMU.Machine))
	}
	for _, d := range devs {
		fns = append(fns, d.Option())
	}
	if e.Guest.Rootfs != "" {
		img := h.Rootfs
		if img == "" {
			img = e.Guest.Rootfs
		}
		// snapshot=on: the image never changes; on the bus of the method's disks, so that the
		// guest names it after them.
		fns = append(fns, qemu.BlockDeviceWith(img, false, true, qemu.Block{Bus: method.DiskBus(devs)}))
	}
	if len(e.QEMU.Args) > 0 {
		fns = append(fns, qemu.WithArgs(e.QEMU.Args...))
	}
	return fns, nil
}

// bootArgv is the QEMU command line of the cell. It is built before the initrd exists, so
// files are not checked here; the runner writes the initrd, then starts exactly this.
func bootArgv(e *spec.Experiment, c *Cell, devs []method.Device, h Host) ([]string, error) {
	fns, err := qemuOptions(e, c, devs, h)
	if err != nil {
		return nil, err
	}
	return qemu.BuildUnchecked(fns...)
}
