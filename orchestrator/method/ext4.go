package method

import (
	"fmt"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// Ext4 builds a fresh ext4 image of the filtered, owner-mapped tree and mounts it read-write
// in the guest: no overlay. QEMU opens it with snapshot=on, so the image file is never changed.
type Ext4 struct{}

func init() { register(Ext4{}) }

// Name implements Method.
func (Ext4) Name() string { return "ext4" }

// Modules implements Method.
func (Ext4) Modules(Config) []string { return ext4Modules }

// HostSteps implements Method.
func (Ext4) HostSteps(c Config) []Step {
	size := "<computed from the tree>"
	if n, err := spec.ParseSize(c.Params.Str("size")); err == nil {
		size = fmt.Sprintf("%dk", n>>10) // mke2fs reads a bare number as KiB; k says so
	}
	argv := []string{"mkfs.ext4", "-q", "-F", "-t", "ext4", "-O", "^has_journal"}
	if c.Owner != nil {
		argv = append(argv, "-E", fmt.Sprintf("root_owner=%d:%d", c.Owner.UID, c.Owner.GID))
	}
	argv = append(argv, "-d", img(c, "staging"), img(c, "tree.ext4"), size)
	return []Step{{Kind: StepBuildImage, Desc: "build the ext4 image from the filtered, owner-mapped tree", Argv: argv}}
}

// Devices implements Method.
func (Ext4) Devices(c Config) []Device {
	return []Device{{Kind: "block", Path: img(c, "tree.ext4"), Snapshot: true}}
}

// GuestSteps implements Method.
func (Ext4) GuestSteps(c Config) []protocol.Step {
	return []protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: c.Mountpoint, FSType: "ext4"}}
}

// Warnings implements Method.
func (Ext4) Warnings(Config) []string { return nil }
