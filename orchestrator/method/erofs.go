package method

import (
	"context"
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

// erofsExcludeAll stands, in a plan, for the --exclude-path options of the excluded paths,
// which only the run's walk of the tree knows.
const erofsExcludeAll = "--exclude-path=<each excluded path from the tree walk>"

// HostSteps implements Method.
//
// mkfs.erofs (1.5) compares each --exclude-path, as an exact string, with the path of every
// entry relative to the source directory, without a leading slash ("build/stage1"); a
// leading slash or the source's own name never matches, and wildcards are literal. A
// match leaves out that path only, so a hard link to an excluded file elsewhere stays.
// --preserve-mtime keeps every file's own mtime, to the nanosecond (-T would give every
// file the same one).
func (Erofs) HostSteps(c Config) []Step {
	argv := []string{"mkfs.erofs", "--quiet", "--preserve-mtime"}
	if comp := c.Params.Str("compression"); comp != "none" {
		argv = append(argv, "-z"+comp)
	}
	if c.Owner != nil {
		argv = append(argv, "--force-uid="+strconv.Itoa(c.Owner.UID), "--force-gid="+strconv.Itoa(c.Owner.GID))
	}
	switch {
	case c.Hidden != nil:
		for _, p := range c.Hidden {
			argv = append(argv, "--exclude-path="+p)
		}
	case len(c.Exclude) > 0:
		argv = append(argv, erofsExcludeAll)
	}
	argv = append(argv, img(c, "tree.erofs"), c.Tree)
	steps := []Step{{Kind: StepBuildImage, Desc: "build the EROFS image", Argv: argv}}
	return append(steps, scratchSteps(c)...)
}

// RunHostStep implements HostRunner: it runs the step's command, with the plan's stand-in
// for the exclusions replaced by one --exclude-path per excluded path (none when the rules
// exclude nothing in this tree, where the runner has no paths to give).
func (Erofs) RunHostStep(ctx context.Context, s Step, c Config, env HostEnv) (func(), error) {
	if isScratchStep(s, c) {
		return nil, runScratchStep(ctx, s, c, env)
	}
	return nil, runTool(ctx, env.Log, erofsCommand(s.Argv, c.Hidden), nil)
}

// Devices implements Method.
func (Erofs) Devices(c Config) []Device {
	return append([]Device{{Kind: "block", Path: img(c, "tree.erofs"), ReadOnly: true}}, scratchDevices(c)...)
}

// GuestSteps implements Method.
func (Erofs) GuestSteps(c Config) []protocol.Step {
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir,
		FSType: "erofs", ReadOnly: true}}, overlay(c, false)...)
}

// Warnings implements Method.
func (Erofs) Warnings(Config) []string { return nil }

// erofsCommand is the step's command argv with erofsExcludeAll replaced by an
// --exclude-path for each hidden path.
func erofsCommand(argv, hidden []string) []string {
	var out []string
	for _, a := range argv {
		if a != erofsExcludeAll {
			out = append(out, a)
			continue
		}
		for _, p := range hidden {
			out = append(out, "--exclude-path="+p)
		}
	}
	return out
}
