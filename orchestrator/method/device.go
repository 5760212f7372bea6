package method

import (
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// Device is something a method attaches to the VM; it says its own QEMU options.
type Device interface {
	Option() qemu.Fn
}

// Disk is a virtio-blk disk backed by an image file. The guest names disks vda, vdb, ... in
// the order QEMU gets them.
type Disk struct {
	Path     string
	ReadOnly bool
	Snapshot bool       // copy-on-write: guest writes never reach the file
	Block    qemu.Block // the host's I/O path and the bus; zero: QEMU's defaults on PCI
}

// Option implements Device.
func (d Disk) Option() qemu.Fn { return qemu.BlockDeviceWith(d.Path, d.ReadOnly, d.Snapshot, d.Block) }

// NinePShare is a directory shared over virtio-9p (QEMU's -virtfs).
type NinePShare struct {
	Path, Tag, Security string
	ReadOnly            bool
}

// Option implements Device.
func (d NinePShare) Option() qemu.Fn { return qemu.VirtFS(d.Path, d.Tag, d.Security, d.ReadOnly) }

// VhostUserFS is a virtiofs device served by a daemon on a unix socket.
type VhostUserFS struct {
	Socket, Tag string
	QueueSize   int
}

// Option implements Device.
func (d VhostUserFS) Option() qemu.Fn { return qemu.VhostUserFS(d.Socket, d.Tag, d.QueueSize) }

// SerialPort is a named virtio-serial port on a unix socket; with Server QEMU listens on it.
type SerialPort struct {
	Name, Socket string
	Server       bool
}

// Option implements Device.
func (d SerialPort) Option() qemu.Fn {
	if d.Server {
		return qemu.VirtioSerialServerPort(d.Name, d.Socket)
	}
	return qemu.VirtioSerialPort(d.Name, d.Socket)
}

// UserNet is QEMU user networking with a forward from a loopback port to a guest port.
type UserNet struct {
	HostPort, GuestPort int
}

// Option implements Device.
func (d UserNet) Option() qemu.Fn { return qemu.UserNet(d.HostPort, d.GuestPort) }
