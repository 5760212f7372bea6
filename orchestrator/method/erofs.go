package method

import (
	"strconv"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// Erofs builds an EROFS image with mkfs.erofs, attaches it read-only and puts an overlay on it.
type Erofs struct{}

func init() { register(Erofs{}) }

// Name implements Method.
func (Erofs) Name() string { return "erofs" }

// Modules implements Method.
func (Erofs) Modules(c Config) []string {
	return overlayModules(c, "virtio_blk", "crc32c_generic", "erofs")
}

// HostSteps implements Method.
func (Erofs) HostSteps(c Config) []Step {
	argv := []string{"mkfs.erofs", "--quiet", "-T0"}
	if comp := c.Params.Str("compression"); comp != "none" {
		argv = append(argv, "-z"+comp)
	}
	if c.Owner != nil {
		argv = append(argv, "--force-uid="+strconv.Itoa(c.Owner.UID), "--force-gid="+strconv.Itoa(c.Owner.GID))
	}
	if len(c.Exclude) > 0 {
		argv = append(argv, "--exclude-path=<each excluded path from the tree walk>")
	}
	argv = append(argv, img(c, "tree.erofs"), c.Tree)
	return []Step{{Kind: StepBuildImage, Desc: "build the EROFS image", Argv: argv}}
}

// Devices implements Method.
func (Erofs) Devices(c Config) []Device {
	return []Device{{Kind: "block", Path: img(c, "tree.erofs"), ReadOnly: true}}
}

// GuestSteps implements Method.
func (Erofs) GuestSteps(c Config) []protocol.Step {
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir,
		FSType: "erofs", ReadOnly: true}}, overlay(c, false)...)
}

// Warnings implements Method.
func (Erofs) Warnings(Config) []string { return nil }
