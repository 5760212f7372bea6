package method

import (
	"fmt"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// SSHTar is the seed study's naive baseline: the filtered, owner-mapped tree as a tar stream
// over SSH (the guest agent's own server) on QEMU user networking, extracted in the guest.
type SSHTar struct{}

func init() { register(SSHTar{}) }

// Name implements Method.
func (SSHTar) Name() string { return "ssh-tar" }

// Modules implements Method.
func (SSHTar) Modules(c Config) []string { return tarModules(c, "virtio_net") }

// HostSteps implements Method.
func (SSHTar) HostSteps(c Config) []Step {
	return []Step{{Kind: StepTransfer, Desc: fmt.Sprintf(
		"stream the filtered tree as tar (owner %s) over SSH (%s, pinned host key) to 127.0.0.1:<free port, 10222 in the plan> -> guest:%d; guest runs tar -x -C %s",
		ownerText(c), c.Params.Str("cipher"), guestPort, c.Mountpoint)}}
}

// Devices implements Method.
func (SSHTar) Devices(Config) []Device {
	return []Device{{Kind: "user-net", GuestPort: guestPort}}
}

// GuestSteps implements Method.
func (SSHTar) GuestSteps(c Config) []protocol.Step {
	return append(tarTarget(c), protocol.Step{Kind: protocol.StepNetUp, Name: "net-up"})
}

// Warnings implements Method.
func (SSHTar) Warnings(Config) []string { return nil }

func ownerText(c Config) string {
	if c.Owner == nil {
		return "as on the host"
	}
	return fmt.Sprintf("%d:%d", c.Owner.UID, c.Owner.GID)
}

func tarModules(c Config, extra ...string) []string {
	if c.Params.Str("target") == "disk" {
		extra = append(extra, ext4Modules...)
	}
	return extra
}

// tarTarget prepares the directory the stream is extracted into: the guest's tmpfs root, or
// a scratch disk the host formatted.
func tarTarget(c Config) []protocol.Step {
	if c.Params.Str("target") == "disk" {
		return []protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: c.Mountpoint, FSType: "ext4"}}
	}
	return []protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "tmpfs", Target: c.Mountpoint, FSType: "tmpfs"}}
}
