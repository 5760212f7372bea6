package method

import (
	"strconv"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
)

// Squashfs builds a squashfs image of the filtered tree with mksquashfs, attaches it as a
// read-only virtio-blk disk and puts an overlay on it.
type Squashfs struct{}

func init() { register(Squashfs{}) }

// Name implements Method.
func (Squashfs) Name() string { return "squashfs" }

// Modules implements Method.
func (Squashfs) Modules(c Config) []string {
	return overlayModules(c, "virtio_blk", "squashfs")
}

// ExcludeFile is the file, in the cell's work directory, listing the top-most excluded paths
// of the tree one per line, as mksquashfs -ef reads it.
const ExcludeFile = "exclude.list"

// HostSteps implements Method.
func (Squashfs) HostSteps(c Config) []Step {
	argv := []string{"mksquashfs", c.Tree, img(c, "tree.sqfs"), "-noappend", "-quiet", "-no-progress", "-no-xattrs",
		"-b", strconv.FormatInt(c.Params.Int("block_size"), 10)}
	if comp := c.Params.Str("compression"); comp == "none" {
		argv = append(argv, "-noI", "-noId", "-noD", "-noF", "-noX")
	} else {
		argv = append(argv, "-comp", comp)
	}
	if c.Owner != nil {
		argv = append(argv, "-force-uid", strconv.Itoa(c.Owner.UID), "-force-gid", strconv.Itoa(c.Owner.GID))
	}
	if len(c.Exclude) > 0 {
		argv = append(argv, "-ef", img(c, ExcludeFile))
	}
	return []Step{{Kind: StepBuildImage, Desc: "build the squashfs image (excluded paths listed by the tree walk)", Argv: argv}}
}

// Devices implements Method.
func (Squashfs) Devices(c Config) []Device {
	return []Device{{Kind: "block", Path: img(c, "tree.sqfs"), ReadOnly: true}}
}

// GuestSteps implements Method.
func (Squashfs) GuestSteps(c Config) []protocol.Step {
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir,
		FSType: "squashfs", ReadOnly: true}}, overlay(c, false)...)
}

// Warnings implements Method.
func (Squashfs) Warnings(Config) []string { return nil }
