package method

import (
	"fmt"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// Virtiofs shares the host tree through a virtiofsd daemon on vhost-user-fs and puts an
// overlay on it.
type Virtiofs struct{}

func init() { register(Virtiofs{}) }

// Name implements Method.
func (Virtiofs) Name() string { return "virtiofs" }

// Modules implements Method.
func (Virtiofs) Modules(c Config) []string { return overlayModules(c, "virtiofs") }

func (Virtiofs) socket(c Config) string { return sock(c, "virtiofsd.sock") }

// HostSteps implements Method.
func (v Virtiofs) HostSteps(c Config) []Step {
	d := FindVirtiofsd(c.Params.Str("daemon"))
	return []Step{{Kind: StepStartDaemon, Desc: fmt.Sprintf("start the %s virtiofsd, wait for its socket", map[string]string{"c": "C", "rust": "Rust"}[d.Flavor]),
		Argv: d.Argv(v.socket(c), c.Tree, c.Params.Str("cache"), int(c.Params.Int("thread_pool_size")))}}
}

// Devices implements Method.
func (v Virtiofs) Devices(c Config) []Device {
	return []Device{{Kind: "vhost-user-fs", Path: v.socket(c), Tag: shareTag, QueueSize: int(c.Params.Int("queue_size"))}}
}

// GuestSteps implements Method.
func (Virtiofs) GuestSteps(c Config) []protocol.Step {
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: shareTag, Target: lowerDir,
		FSType: "virtiofs", ReadOnly: true}}, overlay(c, true)...)
}

// Warnings implements Method.
func (Virtiofs) Warnings(c Config) []string { return ownerWarning("virtiofs", c) }
