package method

import "fmt"

// A stream method extracts the tree into the guest's tmpfs (target: tmpfs) or onto a
// scratch disk (target: disk). A tmpfs mounted without a size holds at most half of the
// guest's memory; a tree that does not fit would fail deep into its transfer ("no space left
// on device" after most of the stream), so the plan refuses the cell before timing. The
// scratch disk is sized from the tree (ScratchSize: twice its bytes, an inode per block) and
// always holds it.

// tmpfsShare is the part of the guest's memory a tmpfs mounted without a size may hold.
const tmpfsShare = 2 // one half

// tmpfsRefusal says why the filtered tree cannot be extracted into the guest's tmpfs, or "".
// The tree takes its ext4 block count in pages (every file rounded up to whole pages, the
// directories' entries). Unknown sizes (a plan without the tree) refuse nothing.
func tmpfsRefusal(c Config) string {
	if c.Params.Str("target") == "disk" || c.Size.Blocks == 0 || c.Memory == 0 {
		return ""
	}
	need, room := c.Size.Blocks*ext4Block, c.Memory/tmpfsShare
	if need <= room {
		return ""
	}
	return fmt.Sprintf("the filtered tree takes about %s in the guest's tmpfs (%d files, %s of content), which holds at most %s: half of qemu.memory %s. "+
		"Use target: disk (a scratch disk sized from the tree), or give the guest at least %s of memory (qemu.memory)",
		mib(need), c.Size.Files, mib(c.Size.Bytes), mib(room), mib(c.Memory), mib(roundUp(need*tmpfsShare+256<<20, 256<<20)))
}

// mib renders a byte count in MiB (GiB from 10 GiB up), rounded.
func mib(n int64) string {
	if n >= 10<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
