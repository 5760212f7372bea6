package method

import (
	"context"
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
	return append(scratchSteps(c), Step{Kind: StepTransfer, Desc: fmt.Sprintf(
		"stream the filtered tree as tar (owner %s) into virtio-serial port %q (QEMU listens on %s)", ownerText(c), dataPort, sock(c, "data.sock"))})
}

// Devices implements Method. QEMU listens on the data port's socket and the transfer
// connects after boot: the host needs no listener of its own across steps, and the guest
// waits for the connection whichever of the two comes first (receive-tar).
func (SerialTar) Devices(c Config) []Device {
	return append([]Device{{Kind: "serial-server", Path: sock(c, "data.sock"), Tag: dataPort}}, scratchDevices(c)...)
}

// RunHostStep implements HostRunner: the transfer connects to the data port's socket,
// streams the tree and ends when QEMU has taken the last byte from the socket (it takes them
// only as fast as the guest reads); the guest's receive step ends in the mount phase.
func (SerialTar) RunHostStep(ctx context.Context, s Step, c Config, env HostEnv) (func(), error) {
	if s.Kind != StepTransfer {
		return nil, runTarScratchStep(ctx, s, c, env)
	}
	st, err := sendSerial(ctx, sock(c, "data.sock"), treeSource(c, env.Matcher))
	st.log(env.Log, "serial-tar")
	return nil, err
}

// GuestSteps implements Method.
func (SerialTar) GuestSteps(c Config) []protocol.Step {
	return append(tarTarget(c), protocol.Step{Kind: protocol.StepReceiveTar, Name: "receive", Port: dataPort, Target: c.Mountpoint})
}

// Warnings implements Method.
func (SerialTar) Warnings(Config) []string { return nil }
