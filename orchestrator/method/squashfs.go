package method

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

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
// of the tree one per line, as mksquashfs -wildcards -ef reads it (see SquashfsExcludeLine).
const ExcludeFile = "exclude.list"

// HostSteps implements Method.
//
// The exclusions are given with -wildcards. Without it mksquashfs (4.5.1) resolves every
// listed path to its inode and leaves out every file with that inode, so a file hard-linked
// from an excluded directory would vanish from the kept part of the tree too; with it the
// lines are patterns matched against paths relative to the source, which SquashfsExcludeLine
// escapes into exact names.
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
		argv = append(argv, "-wildcards", "-ef", img(c, ExcludeFile))
	}
	steps := []Step{{Kind: StepBuildImage, Desc: "build the squashfs image (excluded paths listed by the tree walk)", Argv: argv}}
	return append(steps, scratchSteps(c)...)
}

// RunHostStep implements HostRunner: it writes the exclusion list mksquashfs reads, then runs
// the step's command.
func (Squashfs) RunHostStep(ctx context.Context, s Step, c Config, env HostEnv) (func(), error) {
	if isScratchStep(s, c) {
		return nil, runScratchStep(ctx, s, c, env)
	}
	if i := slices.Index(s.Argv, "-ef"); i >= 0 && i+1 < len(s.Argv) {
		if err := writeSquashfsExcludes(s.Argv[i+1], c.Hidden); err != nil {
			return nil, err
		}
		fmt.Fprintf(env.Log, "%s: %d excluded paths: %s\n", s.Argv[i+1], len(c.Hidden), strings.Join(c.Hidden, ", "))
	}
	return nil, runTool(ctx, env.Log, s.Argv, nil)
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

// Devices implements Method.
func (Squashfs) Devices(c Config) []Device {
	return append([]Device{{Kind: "block", Path: img(c, "tree.sqfs"), ReadOnly: true}}, scratchDevices(c)...)
}

// GuestSteps implements Method.
func (Squashfs) GuestSteps(c Config) []protocol.Step {
	return append([]protocol.Step{{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir,
		FSType: "squashfs", ReadOnly: true}}, overlay(c, false)...)
}

// Warnings implements Method.
func (Squashfs) Warnings(Config) []string { return nil }
