package method

import (
	"fmt"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// NineP shares the host tree read-only over virtio-9p (`-virtfs`) and puts an overlay on it.
type NineP struct{}

func init() { register(NineP{}) }

// Name implements Method.
func (NineP) Name() string { return "9p" }

// Modules implements Method.
func (NineP) Modules(c Config) []string { return overlayModules(c, "9pnet_virtio", "9p") }

// HostSteps implements Method: QEMU itself serves the share; only an overlay upper layer
// on disk needs a scratch disk made first.
func (NineP) HostSteps(c Config) []Step { return scratchSteps(c) }

// Devices implements Method.
func (NineP) Devices(c Config) []Device {
	return append([]Device{{Kind: "virtfs", Path: c.Tree, Tag: shareTag, ReadOnly: true, Security: c.Params.Str("security_model")}},
		scratchDevices(c)...)
}

// GuestSteps implements Method.
func (NineP) GuestSteps(c Config) []protocol.Step {
	opts := fmt.Sprintf("trans=virtio,version=9p2000.L,msize=%d,cache=%s", c.Params.Int("msize"), c.Params.Str("cache"))
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: shareTag, Target: lowerDir,
		FSType: "9p", Options: opts, ReadOnly: true}}, overlay(c, true)...)
}

// KeepsHostOwners implements HostOwners.
func (NineP) KeepsHostOwners() bool { return true }

// Warnings implements Method.
func (NineP) Warnings(c Config) []string { return ownerWarning("9p", c) }
