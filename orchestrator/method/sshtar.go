package method

import (
	"context"
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
	return append(scratchSteps(c), Step{Kind: StepTransfer, Desc: fmt.Sprintf(
		"stream the filtered tree as tar (owner %s) over SSH (%s, pinned host key) to 127.0.0.1:<free port, 10222 in the plan> -> guest:%d; guest runs tar -x -C %s",
		ownerText(c), c.Params.Str("cipher"), guestPort, c.Mountpoint)})
}

// Devices implements Method: the forward from the cell's free loopback port (10222 in plans).
func (SSHTar) Devices(c Config) []Device {
	return append([]Device{{Kind: "user-net", HostPort: c.HostPort, GuestPort: guestPort}}, scratchDevices(c)...)
}

// GuestSteps implements Method: the target, the network, then the agent's sshd, which ends
// when the one tar session has extracted the stream.
func (SSHTar) GuestSteps(c Config) []protocol.Step {
	return append(tarTarget(c), protocol.Step{Kind: protocol.StepNetUp, Name: "net-up"}, sshdStep(c))
}

// RunHostStep implements HostRunner: the transfer connects to the guest's sshd (pinning the
// cell's host key, retrying until it is up) and streams the tree into `tar -x`; it ends
// when the guest reported tar's exit status, so it includes the extraction.
func (SSHTar) RunHostStep(ctx context.Context, s Step, c Config, env HostEnv) (func(), error) {
	if s.Kind != StepTransfer {
		return nil, runTarScratchStep(ctx, s, c, env)
	}
	t, err := cellSSHTarget(c)
	if err != nil {
		return nil, err
	}
	st, err := sendSSH(ctx, t, treeSource(c, env.Matcher))
	st.log(env.Log, "ssh-tar ("+c.Params.Str("cipher")+")")
	return nil, err
}

// Warnings implements Method.
func (SSHTar) Warnings(Config) []string { return nil }

func ownerText(c Config) string {
	if c.Owner == nil {
		return "as on the host"
	}
	return fmt.Sprintf("%d:%d", c.Owner.UID, c.Owner.GID)
}

// runTarScratchStep runs a tar method's host step other than the transfer: the scratch disk
// of target: disk.
func runTarScratchStep(ctx context.Context, s Step, c Config, env HostEnv) error {
	if !isScratchStep(s, c) {
		return fmt.Errorf("%s: no way to run host step %q (%s)", c.Params.Str("target"), s.Kind, s.Desc)
	}
	return runScratchStep(ctx, s, c, env)
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
