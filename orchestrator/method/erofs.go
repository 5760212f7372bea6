package method

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Erofs builds an EROFS image with mkfs.erofs, attaches it read-only and puts an overlay on it.
type Erofs struct{}

func init() { register(Erofs{}) }

// Name implements Method.
func (Erofs) Name() string { return "erofs" }

// Params implements Method.
func (Erofs) Params() []param.Def {
	return []param.Def{
		{Name: "compression", Kind: param.KindEnum, Default: "none", Enum: []string{"none", "lz4", "lz4hc"}},
		upperParam,
	}
}

// Tools implements Method.
func (Erofs) Tools(p Params) []Tool {
	return append([]Tool{{Name: "erofs-utils", Package: "erofs-utils", Paths: []string{"mkfs.erofs"}, Probe: erofsVersion}},
		scratchTools(p)...)
}

// erofsVersion asks mkfs.erofs for its version. Releases before 1.6 have no --version and
// print their version only as the banner of a real run, so that is done on an empty
// directory in a temporary directory.
func erofsVersion(ctx context.Context, path string) (string, any, error) {
	if v := AskVersion(ctx, "", path, "--version"); !strings.HasPrefix(v, "unknown") {
		return v, nil, nil
	}
	tmp, err := os.MkdirTemp("", "vmfsbench-erofs-version.")
	if err != nil {
		return "unknown", nil, nil
	}
	defer os.RemoveAll(tmp)
	if err := os.Mkdir(filepath.Join(tmp, "d"), 0o755); err != nil {
		return "unknown", nil, nil
	}
	return AskVersion(ctx, tmp, path, "img", "d"), nil, nil
}

// Carries implements Method.
func (Erofs) Carries(tree.Finding) (bool, string) { return true, "" }

// Plan implements Method.
//
// mkfs.erofs (1.5) compares each --exclude-path, as an exact string, with the path of every
// entry relative to the source directory, without a leading slash ("build/stage1"); a
// leading slash or the source's own name never matches, and wildcards are literal. A
// match leaves out that path only, so a hard link to an excluded file elsewhere stays.
// --preserve-mtime keeps every file's own mtime, to the nanosecond (-T would give every
// file the same one).
func (Erofs) Plan(c Config) (Plan, error) {
	image := img(c, "tree.erofs")
	argv := []string{"mkfs.erofs", "--quiet", "--preserve-mtime"}
	if comp := c.Params.Str("compression"); comp != "none" {
		argv = append(argv, "-z"+comp)
	}
	if c.Owner != nil {
		argv = append(argv, "--force-uid="+strconv.Itoa(c.Owner.UID), "--force-gid="+strconv.Itoa(c.Owner.GID))
	}
	for _, p := range c.Hidden {
		argv = append(argv, "--exclude-path="+p)
	}
	argv = append(argv, image, c.Tree)
	return Plan{
		Modules: overlayModules(c, "virtio_blk", "crc32c_generic", "erofs"),
		Steps:   append([]Step{{Kind: StepBuildImage, Desc: "build the EROFS image", Commands: [][]string{argv}}}, scratchSteps(c)...),
		Devices: append([]Device{Disk{Path: image, ReadOnly: true}}, scratchDevices(c)...),
		Guest: append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir,
			FSType: "erofs", ReadOnly: true}}, overlay(c, false)...),
	}, nil
}
