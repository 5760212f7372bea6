package method

import (
	"fmt"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// SerialTar streams the same tar as SSHTar over a virtio-serial port: no network, no cipher.
type SerialTar struct{}

func init() { register(SerialTar{}) }

// Name implements Method.
func (SerialTar) Name() string { return "serial-tar" }

// Modules implements Method: virtio_console is always loaded for the control port.
func (SerialTar) Modules(c Config) []string { return tarModules(c) }

// HostSteps implements Method.
func (SerialTar) HostSteps(c Config) []Step {
	return []Step{{Kind: StepTransfer, Desc: fmt.Sprintf(
		"stream the filtered tree as tar (owner %s) into virtio-serial port %q (socket %s)", ownerText(c), dataPort, sock(c, "data.sock"))}}
}

// Devices implements Method.
func (SerialTar) Devices(c Config) []Device {
	return []Device{{Kind: "serial-port", Path: sock(c, "data.sock"), Tag: dataPort}}
}

// GuestSteps implements Method.
func (SerialTar) GuestSteps(c Config) []protocol.Step {
	return append(tarTarget(c), protocol.Step{Kind: protocol.StepReceiveTar, Name: "receive", Port: dataPort, Target: c.Mountpoint})
}

// Warnings implements Method.
func (SerialTar) Warnings(Config) []string { return nil }
