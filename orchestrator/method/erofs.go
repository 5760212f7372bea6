package method

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"

	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// Erofs builds an EROFS image with mkfs.erofs, attaches it read-only and puts an overlay on it.
type Erofs struct{}

func init() { register(Erofs{}) }

// Name implements Method.
func (Erofs) Name() string { return "erofs" }

// Params implements Method.
func (Erofs) Params() []param.Def {
	return blkParamsAnd(
		param.Def{Name: "compression", Kind: param.KindEnum, Default: "none", Enum: []string{"none", "lz4", "lz4hc"}},
		upperParam)
}

// Tools implements Method.
func (Erofs) Tools(p Params) []Tool {
	tools := []Tool{{Name: "erofs-utils", Package: "erofs-utils", Paths: []string{"mkfs.erofs"}, Probe: erofsVersion}}
	if pmemWanted(p) {
		tools = append(tools, Tool{Name: "truncate", Package: "coreutils"}) // pads the image to its device
	}
	return append(tools, scratchTools(p)...)
}

// erofsVersion asks mkfs.erofs for its version. Releases before 1.6 have no --version and
// print their version only as the banner of a real run, so that is done on an empty
// directory in a temporary directory.
func erofsVersion(ctx context.Context, path string) (string, any, error) {
	if v := AskVersion(ctx, "", path, "--version"); !strings.HasPrefix(v, "unknown") {
		return v, nil, nil
	}
	tmp, err := tmpdir.Make("erofs-version")
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
//
// With device: pmem the image is mapped shared and read-only as virtio-pmem and mounted with
// dax=always under the overlay. erofs maps only uncompressed files whose tails are not
// inlined into their inodes, so the image is built with -Enoinline_data and no compression,
// in blocks of the page size (mkfs.erofs 1.5 takes the host's); the device's size is fixed
// by the plan, so the image is padded with zeros to an upper bound of its size.
func (Erofs) Plan(c Config) (Setup, error) {
	if err := (Erofs{}).SpecRefusal(c); err != nil {
		return Setup{}, err
	}
	image := img(c, "tree.erofs")
	pmem := pmemWanted(c.Params)
	argv := []string{"mkfs.erofs", "--quiet", "--preserve-mtime"}
	if comp := c.Params.Str("compression"); comp != "none" {
		argv = append(argv, "-z"+comp)
	}
	aligned, err := daxAligned("erofs", c.Params)
	if err != nil {
		return Setup{}, err
	}
	if pmem {
		if err := pmemRefusal("erofs", c); err != nil {
			return Setup{}, err
		}
		argv = append(argv, "-Enoinline_data")
		if aligned {
			argv = append(argv, "--dsunit="+strconv.Itoa(daxAlignBlocks))
		}
	}
	if c.Owner != nil {
		argv = append(argv, "--force-uid="+strconv.Itoa(c.Owner.UID), "--force-gid="+strconv.Itoa(c.Owner.GID))
	}
	for _, p := range c.Hidden {
		argv = append(argv, "--exclude-path="+p)
	}
	argv = append(argv, image, c.Tree)
	build := Step{Kind: StepBuildImage, Desc: "build the EROFS image", Commands: [][]string{argv}, Images: []string{image}}
	if c.Params.Str("compression") == "none" {
		// mkfs.erofs 1.8.6 hangs, never exits, when the disk fills (seen in the Debian 13
		// lane): an uncompressed image holds at least the tree's bytes, so a disk with less
		// free space is refused before the tool runs.
		build.Run = func(ctx context.Context, env Env) (func(), error) {
			if err := enoughSpace(filepath.Dir(image), c.Size.Bytes); err != nil {
				return nil, err
			}
			return nil, RunCommands(ctx, env, build.Commands)
		}
	}
	blk, refused, err := blockOf("erofs", c)
	if err != nil {
		return Setup{}, err
	}
	mount := protocol.Step{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: lowerDir, FSType: "erofs", ReadOnly: true}
	var dev Device = Disk{Path: image, ReadOnly: true, Block: blk}
	lower := append(blkModules(blk), "virtio_blk", "crc32c_generic", "erofs")
	guest := overlay(c, false)
	if pmem {
		size := erofsPmemSize(c.Size, aligned)
		pad := []string{"truncate", "--size=" + strconv.FormatInt(size, 10), image}
		build.Desc = fmt.Sprintf("build the EROFS image (no compression, no inlined tails, for DAX), then pad it with zeros to the %d bytes of its pmem device", size)
		build.Commands = append(build.Commands, pad)
		build.Run = func(ctx context.Context, env Env) (func(), error) {
			return nil, buildPadded(ctx, env, argv, pad, image, size)
		}
		mount.Source, mount.Options, mount.DAX = pmemDevice, pmemOptions, true
		dev = Pmem{Path: image, Size: size}
		lower = append(slices.Clone(pmemModules), "crc32c_generic", "erofs")
		if guest[0].UpperDevice != "" {
			guest[0].UpperDevice = scratchDisk(true) // no disk before the scratch disk
		}
	}
	return Setup{
		Modules: overlayModules(c, lower...),
		Steps:   append([]Step{build}, scratchSteps(c)...),
		Devices: append([]Device{dev}, scratchDevices(c)...),
		Guest:   append([]protocol.Step{mount}, guest...),
		Refused: joinRefusals(refused, erofsLongNames(c), erofsDsunit(c, aligned)),
	}, nil
}

// enoughSpace fails, with ENOSPC's own words, when the file system of dir has fewer than
// need bytes free.
func enoughSpace(dir string, need int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil // the tool will say what is wrong
	}
	if free := int64(st.Bavail) * st.Bsize; free < need {
		return fmt.Errorf("%s: no space left on device: the image needs at least %d bytes, %d are free", dir, need, free)
	}
	return nil
}

// HandBuild implements HandBuilder.
func (m Erofs) HandBuild(c Config, src string) ([]string, error) { return planHandBuild(m, c, src) }

// BeyondHand implements HandBuilder.
func (Erofs) BeyondHand() string {
	return "vmfsbench's mkfs.erofs also compares every path with its --exclude-path options, on the whole tree."
}

// SpecRefusal refuses a compressed image on pmem and pmem where the guest has none.
func (Erofs) SpecRefusal(c Config) error {
	if !pmemWanted(c.Params) {
		return nil
	}
	if comp := c.Params.Str("compression"); comp != "none" {
		return fmt.Errorf("erofs compression: %s cannot be mapped with DAX (erofs DAX reads only uncompressed files): use compression: none with device: pmem", comp)
	}
	return pmemArchRefusal("erofs", c.Arch)
}

// erofsLongNames refuses a tree with a name of 255 bytes when mkfs.erofs is older than 1.8:
// mkfs.erofs 1.5 fails on such a name with "Could not format the device" (measured; 254
// bytes build), 1.8.6 stores it (measured); the releases between were not tried.
func erofsLongNames(c Config) string {
	var names []string
	for _, f := range c.Survey.Findings {
		if f.Kind == tree.KindLongName && !f.Excluded {
			names = append(names, f.Rel)
		}
	}
	v := c.Tools["erofs-utils"].Version
	if len(names) == 0 || !versionBefore(v, 1, 8) {
		return ""
	}
	return fmt.Sprintf("%s cannot store a name of 255 bytes (it fails with \"Could not format the device\"; erofs-utils 1.8 can), and the tree has %d, e.g. %q",
		v, len(names), names[0])
}

// versionBefore says whether the first major.minor in the version line v is before
// major.minor; a line without one is not.
func versionBefore(v string, major, minor int) bool {
	m := regexp.MustCompile(`(\d+)\.(\d+)`).FindStringSubmatch(v)
	if m == nil {
		return false
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return a < major || a == major && b < minor
}

// erofsPmemSize is an upper bound of the size of an uncompressed EROFS image of the tree
// without inlined tails, rounded up to a pmem device's size: every file, directory and
// symlink target in whole 4 KiB blocks (TreeSize.Blocks counts files and directories),
// 128 bytes of inode and extended attributes per inode (an extended inode is 64), an eighth
// more and 1 MiB for the rest. The padding is a hole in the file: it costs nothing.
//
// With data aligned to 2 MiB (--dsunit), each file's data may start up to 2 MiB further on:
// the bound grows by 2 MiB a file. The padding is a hole in the file: it costs nothing.
func erofsPmemSize(ts TreeSize, aligned bool) int64 {
	raw := (ts.Blocks+ts.Symlinks+1)*4096 + ts.Inodes*128
	if aligned {
		raw += ts.Files * daxAlignBlocks * 4096
	}
	return pmemSize(raw + raw/8 + 1<<20)
}

// erofsDsunit refuses dax_align: 2MiB where mkfs.erofs has no --dsunit (erofs-utils 1.8
// added it; Debian 12 has 1.5, Debian 13 1.8.6).
func erofsDsunit(c Config, aligned bool) string {
	v := c.Tools["erofs-utils"].Version
	if !aligned || !versionBefore(v, 1, 8) {
		return ""
	}
	return fmt.Sprintf("erofs dax_align: 2MiB needs mkfs.erofs --dsunit (erofs-utils 1.8 or later), and this host's is %s", v)
}

// buildPadded runs the image build, checks that the image fits its device and pads it with
// zeros to the device's size.
func buildPadded(ctx context.Context, env Env, build, pad []string, image string, size int64) error {
	if err := runTool(ctx, env.Log, build, nil); err != nil {
		return err
	}
	fi, err := os.Stat(image)
	if err != nil {
		return err
	}
	if fi.Size() > size {
		return fmt.Errorf("the image %s holds %d bytes, more than the %d planned for its pmem device", image, fi.Size(), size)
	}
	return runTool(ctx, env.Log, pad, nil)
}
