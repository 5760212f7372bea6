package method

import (
	"fmt"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// NineP shares the host tree read-only over virtio-9p (`-virtfs`) and puts an overlay on it.
type NineP struct{}

func init() { register(NineP{}) }

// NinePMaxMsize is the largest msize the Linux virtio 9p transport accepts.
const NinePMaxMsize = 512000

// Name implements Method.
func (NineP) Name() string { return "9p" }

// Params implements Method.
func (NineP) Params() []param.Def {
	return []param.Def{
		{Name: "msize", Kind: param.KindInt, Default: int64(NinePMaxMsize), Min: 4096, Max: NinePMaxMsize,
			Help: "9p message size; the virtio transport caps it at 512000"},
		{Name: "cache", Kind: param.KindEnum, Default: "none", Enum: []string{"none", "readahead", "mmap", "loose", "fscache"},
			Help: "the guest kernel's 9p cache mode; Linux 6.4 reworked them and added readahead, refused on older guest kernels"},
		{Name: "security_model", Kind: param.KindEnum, Default: "none",
			Enum: []string{"none", "mapped-xattr", "mapped-file", "passthrough"}},
		upperParam,
	}
}

// Tools implements Method: QEMU itself serves the share.
func (NineP) Tools(p Params) []Tool { return scratchTools(p) }

// Carries implements Method: the share shows every entry as it is.
func (NineP) Carries(tree.Finding) (bool, string) { return true, "" }

// Plan implements Method: QEMU itself serves the share; only an overlay upper layer on disk
// needs a scratch disk made first.
func (NineP) Plan(c Config) (Setup, error) {
	opts := fmt.Sprintf("trans=virtio,version=9p2000.L,msize=%d,cache=%s", c.Params.Int("msize"), c.Params.Str("cache"))
	return Setup{
		Modules: overlayModules(c, "9pnet_virtio", "9p"),
		Steps:   scratchSteps(c),
		Devices: append([]Device{NinePShare{Path: c.Tree, Tag: shareTag, ReadOnly: true, Security: c.Params.Str("security_model")}},
			scratchDevices(c)...),
		Guest: append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: shareTag, Target: lowerDir,
			FSType: "9p", Options: opts, ReadOnly: true}}, overlay(c, true)...),
		Warnings:   ownerWarning("9p", c),
		HostOwners: true,
		Refused:    joinRefusals(ninepMappedSymlinks(c), ninepCacheRefusal(c)),
	}, nil
}

// ninepCacheSince is the guest kernel release that first takes a 9p cache mode, for the modes
// that not every kernel takes: Linux 6.4 reworked the modes into flags (fs/9p/v9fs.c) and
// added readahead; 6.1 (Debian 12's kernel) takes none, loose, fscache and mmap only and
// fails the mount with "Unknown Cache mode" otherwise.
var ninepCacheSince = map[string][2]int{"readahead": {6, 4}}

// ninepCacheRefusal refuses a cache mode the guest kernel does not take, naming its release;
// a kernel of unknown release is not refused (the mount says).
func ninepCacheRefusal(c Config) string {
	mode := c.Params.Str("cache")
	since, ok := ninepCacheSince[mode]
	if !ok || !versionBefore(c.KernelRelease, since[0], since[1]) {
		return ""
	}
	return fmt.Sprintf("9p cache=%s needs a guest kernel %d.%d or later (Linux %d.%d added it), and the guest kernel is %s",
		mode, since[0], since[1], since[0], since[1], c.KernelRelease)
}

// ninepMappedSymlinks refuses a mapped security model over a tree with symlinks: QEMU's
// mapped-xattr and mapped-file models store a symlink as a regular file with its type in
// metadata, so a symlink that exists on the host reads back in the guest as "too many levels
// of symbolic links".
func ninepMappedSymlinks(c Config) string {
	sm := c.Params.Str("security_model")
	if !strings.HasPrefix(sm, "mapped") || c.Survey.Symlinks == 0 {
		return ""
	}
	return fmt.Sprintf("9p security_model %s cannot present the tree's %d symlinks (the guest gets \"too many levels of symbolic links\"): use none or passthrough",
		sm, c.Survey.Symlinks)
}
