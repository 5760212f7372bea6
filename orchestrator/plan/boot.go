package plan

import (
	"fmt"
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

// PlanHostPort stands in for the free loopback port a run picks for a port forward.
const PlanHostPort = 10222

// QEMUOptions are the options of the cell's VM: the spec's machine, the kernel and the cell's
// initrd, the control port, and the method's devices (block devices first, so the tree's disk
// is /dev/vda), then the rootfs copy-on-write.
func QEMUOptions(e *spec.Experiment, c Cell, devs []method.Device, p Paths, accel string) ([]qemu.Fn, error) {
	arch, err := qemu.ParseArch(e.Guest.Arch)
	if err != nil {
		return nil, err
	}
	work := p.Work(c)
	fns := []qemu.Fn{
		qemu.WithArch(arch),
		qemu.WithCPUs(e.QEMU.CPUs),
		qemu.WithMemory(e.QEMU.Memory),
		qemu.WithKernel(p.Kernel),
		qemu.WithInitrd(filepath.Join(work, InitrdFile)),
		qemu.WithConsoleLog(filepath.Join(p.Logs(c), ConsoleFile)),
		qemu.VirtioSerialPort("ctl", filepath.Join(p.SocketDir(c), ControlSock)),
	}
	if accel != "" {
		fns = append(fns, qemu.WithAccel(accel))
	}
	if e.QEMU.Binary != "" {
		fns = append(fns, qemu.WithBinary(e.QEMU.Binary))
	}
	if e.QEMU.Machine != "" {
		fns = append(fns, qemu.WithMachine(e.QEMU.Machine))
	}
	for _, d := range devs {
		switch d.Kind {
		case "block":
			fns = append(fns, qemu.BlockDevice(d.Path, d.ReadOnly, d.Snapshot))
		case "virtfs":
			fns = append(fns, qemu.VirtFS(d.Path, d.Tag, d.Security, d.ReadOnly))
		case "vhost-user-fs":
			fns = append(fns, qemu.VhostUserFS(d.Path, d.Tag, d.QueueSize))
		case "serial-port":
			fns = append(fns, qemu.VirtioSerialPort(d.Tag, d.Path))
		case "serial-server":
			fns = append(fns, qemu.VirtioSerialServerPort(d.Tag, d.Path))
		case "user-net":
			port := d.HostPort
			if port == 0 {
				port = PlanHostPort
			}
			fns = append(fns, qemu.UserNet(port, d.GuestPort))
		default:
			return nil, fmt.Errorf("cell %s: unknown device kind %q", c.ID, d.Kind)
		}
	}
	if e.Guest.Rootfs != "" {
		img := p.Rootfs
		if img == "" {
			img = e.Guest.Rootfs
		}
		fns = append(fns, qemu.BlockDevice(img, false, true)) // snapshot=on: the image never changes
	}
	if len(e.QEMU.Args) > 0 {
		fns = append(fns, qemu.WithArgs(e.QEMU.Args...))
	}
	return fns, nil
}

// BootArgv is the QEMU command line of the cell as the plan shows it, before any file exists.
// The accel is the spec's (auto is decided at run time by a probe boot).
func BootArgv(e *spec.Experiment, c Cell, devs []method.Device, p Paths) ([]string, error) {
	accel := e.QEMU.Accel
	if accel == "auto" {
		accel = "tcg"
	}
	fns, err := QEMUOptions(e, c, devs, p, accel)
	if err != nil {
		return nil, err
	}
	return qemu.BuildUnchecked(fns...)
}
