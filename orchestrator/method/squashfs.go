package method

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Squashfs builds a squashfs image of the filtered tree with mksquashfs, attaches it as a
// read-only virtio-blk disk and puts an overlay on it.
type Squashfs struct{}

func init() { register(Squashfs{}) }

// Name implements Method.
func (Squashfs) Name() string { return "squashfs" }

// Params implements Method.
func (Squashfs) Params() []param.Def {
	return append([]param.Def{
		{Name: "compression", Kind: param.KindEnum, Default: "none", Enum: []string{"none", "gzip", "lzo", "lz4", "xz", "zstd"}},
		{Name: "block_size", Kind: param.KindSize, Default: int64(128 << 10), Min: 4 << 10, Max: 1 << 20, Check: param.PowerOfTwo,
			Schema: map[string]any{"oneOf": []any{
				map[string]any{"type": "integer", "enum": []int{4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576}},
				map[string]any{"type": "string", "enum": []string{"4KiB", "8KiB", "16KiB", "32KiB", "64KiB", "128KiB", "256KiB", "512KiB", "1MiB",
					"4K", "8K", "16K", "32K", "64K", "128K", "256K", "512K", "1M"}}}}},
		upperParam,
	}, blkParams...)
}

// Tools implements Method.
func (Squashfs) Tools(p Params) []Tool {
	return append([]Tool{{Name: "squashfs-tools", Package: "squashfs-tools", Paths: []string{"mksquashfs"}, VersionArgs: []string{"-version"}}},
		scratchTools(p)...)
}

// Carries implements Method: an excluded path with a newline cannot be written into the
// exclusion list mksquashfs reads.
func (Squashfs) Carries(f tree.Finding) (bool, string) {
	return !(f.Kind == tree.KindNewline && f.Excluded), ""
}

// ExcludeFile is the file, in the cell's work directory, listing the top-most excluded paths
// of the tree one per line, as mksquashfs -wildcards -ef reads it (see SquashfsExcludeLine).
const ExcludeFile = "exclude.list"

// Plan implements Method.
//
// The exclusions are given with -wildcards. Without it mksquashfs (4.5.1) resolves every
// listed path to its inode and leaves out every file with that inode, so a file hard-linked
// from an excluded directory would vanish from the kept part of the tree too; with it the
// lines are patterns matched against paths relative to the source, which SquashfsExcludeLine
// escapes into exact names.
func (Squashfs) Plan(c Config) (Setup, error) {
	image := img(c, "tree.sqfs")
	argv := []string{"mksquashfs", c.Tree, image, "-noappend", "-quiet", "-no-progress", "-no-xattrs",
		"-b", strconv.FormatInt(c.Params.Int("block_size"), 10)}
	if comp := c.Params.Str("compression"); comp == "none" {
		argv = append(argv, "-noI", "-noId", "-noD", "-noF", "-noX")
	} else {
		argv = append(argv, "-comp", comp)
	}
	if c.Owner != nil {
		argv = append(argv, "-force-uid", strconv.Itoa(c.Owner.UID), "-force-gid", strconv.Itoa(c.Owner.GID))
	}
	build := Step{Kind: StepBuildImage, Desc: "build the squashfs image", Commands: [][]string{argv}, Images: []string{image}}
	if len(c.Hidden) > 0 {
		list := img(c, ExcludeFile)
		build.Desc = fmt.Sprintf("write the %d excluded paths to %s, then build the squashfs image", len(c.Hidden), list)
		build.Commands[0] = append(argv, "-wildcards", "-ef", list)
		build.Run = func(ctx context.Context, env Env) (func(), error) {
			if err := writeSquashfsExcludes(list, c.Hidden); err != nil {
				return nil, err
			}
			fmt.Fprintf(env.Log, "%s: %d excluded paths: %s\n", list, len(c.Hidden), strings.Join(c.Hidden, ", "))
			return nil, RunCommands(ctx, env, build.Commands)
		}
	}
	blk, refused, err := blockOf("squashfs", c)
	if err != nil {
		return Setup{}, err
	}
	return Setup{
		Modules: overlayModules(c, append(blkModules(blk), "virtio_blk", "squashfs")...),
		Steps:   append([]Step{build}, scratchSteps(c)...),
		Devices: append([]Device{Disk{Path: image, ReadOnly: true, Block: blk}}, scratchDevices(c)...),
		Refused: refused,
		Guest: append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir,
			FSType: "squashfs", ReadOnly: true}}, overlay(c, false)...),
	}, nil
}

// HandBuild implements HandBuilder.
func (m Squashfs) HandBuild(c Config, src string) ([]string, error) { return planHandBuild(m, c, src) }

// BeyondHand implements HandBuilder.
func (Squashfs) BeyondHand() string {
	return "vmfsbench's mksquashfs also matches every path against the exclusion list (-wildcards -ef), on the whole tree."
}

func writeSquashfsExcludes(file string, hidden []string) error {
	var b strings.Builder
	for _, p := range hidden {
		line, err := SquashfsExcludeLine(p)
		if err != nil {
			return fmt.Errorf("squashfs exclusion list %s: %w", file, err)
		}
		b.WriteString(line + "\n")
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("squashfs exclusion list: %w", err)
	}
	return nil
}

// SquashfsExcludeLine is the line of a `mksquashfs -wildcards -ef` file that excludes exactly
// the path rel (slash-separated, relative to the source directory). mksquashfs 4.5.1 reads
// the file a line at a time: it skips leading blanks, takes a line starting with '#' as a
// comment, drops one leading backslash (so "\#x" names "#x" and "\ x" names " x"), keeps
// trailing blanks and every other byte; a line starting with "... " matches at any depth.
// The rest is an fnmatch pattern per path component, where a backslash makes the next
// character literal. So the special characters \ * ? [ get a backslash, and a line that
// would start with a blank, '#', '\' or "... " gets one more. A newline cannot be written.
func SquashfsExcludeLine(rel string) (string, error) {
	if strings.ContainsRune(rel, '\n') {
		return "", fmt.Errorf("path %q holds a newline, which a mksquashfs exclusion list cannot name", rel)
	}
	var b strings.Builder
	for i := 0; i < len(rel); i++ {
		switch ch := rel[i]; {
		case ch == '\\' || ch == '*' || ch == '?' || ch == '[':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case i == 0 && strings.HasPrefix(rel, "... "):
			b.WriteString(`\.`) // a literal dot, so the line does not start with "... "
		default:
			b.WriteByte(ch)
		}
	}
	line := b.String()
	if line != "" && (line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == '\\' ||
		line[0] == '\v' || line[0] == '\f' || line[0] == '\r') {
		line = `\` + line
	}
	return line, nil
}
