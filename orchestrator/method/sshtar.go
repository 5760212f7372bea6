package method

import (
	"context"
	"fmt"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// SSHTar is the seed study's naive baseline: the filtered, owner-mapped tree as a tar stream
// over SSH (the guest agent's own server) on QEMU user networking, extracted in the guest.
type SSHTar struct{}

func init() { register(SSHTar{}) }

// Name implements Method.
func (SSHTar) Name() string { return "ssh-tar" }

// SSHCiphers are the ciphers vmfsbench's SSH client and the guest agent's server both speak.
var SSHCiphers = []string{
	"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	"aes128-ctr", "aes192-ctr", "aes256-ctr",
}

// Params implements Method.
func (SSHTar) Params() []param.Def {
	return []param.Def{
		{Name: "cipher", Kind: param.KindEnum, Default: SSHCiphers[0], Enum: SSHCiphers},
		targetParam,
	}
}

// targetParam is where a stream method extracts the tree in the guest.
var targetParam = param.Def{Name: "target", Kind: param.KindEnum, Default: "tmpfs", Enum: []string{"tmpfs", "disk"},
	Help: "where the guest extracts the stream"}

// Tools implements Method: the SSH client is vmfsbench's own.
func (SSHTar) Tools(p Params) []Tool { return scratchTools(p) }

// Carries implements Method.
func (m SSHTar) Carries(f tree.Finding) (bool, string) { return streamCarries(m.Name(), f) }

// streamCarries is Carries of the tar stream methods.
func streamCarries(method string, f tree.Finding) (bool, string) {
	if f.Kind == tree.KindSpecial {
		return false, method + "'s tar stream leaves them out (it carries files, directories, symlinks and hard links only); the tree digest ignores them too"
	}
	return true, ""
}

// Plan implements Method: the transfer connects to the guest's sshd (pinning the cell's
// host key, retrying until it is up) and streams the tree into `tar -x`; it ends when the
// guest reported tar's exit status, so it includes the extraction. The guest configures its
// network, then runs the agent's sshd, which ends when the one tar session has extracted
// the stream.
func (SSHTar) Plan(c Config) (Setup, error) {
	transfer := Step{Kind: StepTransfer, Desc: fmt.Sprintf(
		"stream the filtered tree as tar (owner %s) over SSH (%s, pinned host key) to 127.0.0.1:%d -> guest:%d; guest runs tar -x -C %s",
		ownerText(c), c.Params.Str("cipher"), c.HostPort, guestPort, c.Mountpoint),
		Run: func(ctx context.Context, env Env) (func(), error) {
			t, err := cellSSHTarget(c)
			if err != nil {
				return nil, err
			}
			st, err := sendSSH(ctx, t, treeSource(c, env.Matcher))
			st.log(env.Log, "ssh-tar ("+c.Params.Str("cipher")+")")
			return nil, err
		}}
	return Setup{
		Modules: tarModules(c, "virtio_net"),
		Refused: tmpfsRefusal(c),
		Steps:   append(scratchSteps(c), transfer),
		Devices: append([]Device{UserNet{HostPort: c.HostPort, GuestPort: guestPort}}, scratchDevices(c)...),
		Guest:   append(tarTarget(c), protocol.Step{Kind: protocol.StepNetUp, Name: "net-up"}, sshdStep(c)),
	}, nil
}

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
