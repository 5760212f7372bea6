package method

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Ext4 builds a fresh ext4 image of the filtered, owner-mapped tree and mounts it read-write
// in the guest: no overlay. QEMU opens it with snapshot=on, so the image file is never changed.
type Ext4 struct{}

func init() { register(Ext4{}) }

// Name implements Method.
func (Ext4) Name() string { return "ext4" }

// Params implements Method.
func (Ext4) Params() []param.Def {
	return blkParamsAnd(param.Def{Name: "size", Kind: param.KindString, Default: "auto", Check: autoOrSize,
		Help: "image size (e.g. 16GiB), or auto to size it from the tree",
		Schema: map[string]any{"type": "string", "minLength": 1,
			"pattern": `^(auto|\s*[0-9]+(\.[0-9]+)?\s*(KiB|MiB|GiB|TiB|KB|MB|GB|TB|K|M|G|T|k|B)?\s*)$`}})
}

func autoOrSize(v any) error {
	s := v.(string)
	if s == "auto" {
		return nil
	}
	n, err := param.ParseSize(s)
	if err != nil {
		return fmt.Errorf("%v, or auto", err)
	}
	if n < 1<<20 {
		return fmt.Errorf("%s is too small for an ext4 image", s)
	}
	return nil
}

// Tools implements Method.
func (Ext4) Tools(Params) []Tool {
	return []Tool{e2fsprogs,
		{Name: "debugfs", Package: "e2fsprogs", VersionArgs: []string{"-V"}}}
}

// probeMke2fs asks mkfs.ext4 its version and whether it takes a tar stream (Mke2fs).
func probeMke2fs(ctx context.Context, path string) (string, any, error) {
	line := AskVersion(ctx, "", path, "-V")
	v, err := ParseMke2fsVersion(line)
	if err != nil {
		return line, v, err
	}
	m := Mke2fs{Version: v, Origin: "host"}
	if v.AtLeast(1, 47, 1) {
		m.TarInput, m.TarWhy = tarInput(ctx, []string{path})
	}
	if m.TarInput {
		line += " (tar input)"
	} else if fline, f, ok := probeFetchedMke2fs(ctx); ok {
		// The host's reads no tar (Debian 12's 1.47.0): the fetched one builds by the tar route.
		f.TarWhy = "the host's " + line + ": " + cmp.Or(m.TarWhy, "1.47.1 reads tar")
		return fline, f, nil
	}
	return line, m, nil
}

// Carries implements Method: special entries reach the image only through a mount view, and
// a kept name with a newline cannot be named in the debugfs command file.
func (Ext4) Carries(f tree.Finding) (bool, string) {
	switch {
	case f.Kind == tree.KindSpecial:
		return false, "ext4 carries them when it reads the tree through a mount view (root), and leaves them out when it must build from a tar stream or a staging tree"
	case f.Kind == tree.KindNewline && !f.Excluded:
		return false, ""
	}
	return true, ""
}

// Stand-in, in the build's internal command, for the directory or stream the route reads.
const ext4Source = "<the filtered tree>"

// ext4Fixup is the debugfs command file of the build, in the cell's work directory.
const ext4Fixup = "ext4-fixup.debugfs"

// SpecRefusal refuses pmem where the guest has none.
func (Ext4) SpecRefusal(c Config) error {
	if pmemWanted(c.Params) {
		return pmemArchRefusal("ext4", c.Arch)
	}
	return nil
}

// Plan implements Method.
//
// The image has no journal and no blocks reserved for root, and its inode tables are zeroed
// by mkfs on the host: left to the guest's ext4lazyinit thread, zeroing them would write to
// the disk during the workload. The route (see buildExt4) is chosen here, from what the host
// probe found (the privilege to mount, whether mkfs.ext4 reads tar), and the build takes it:
// a route that is gone when the cell runs fails the build with the reason.
func (Ext4) Plan(c Config) (Setup, error) {
	image, argv := img(c, "tree.ext4"), ext4Argv(c)
	route := ext4Route(c)
	mkfs := slices.Clone(argv)
	mkfs[slices.Index(mkfs, ext4Source)] = ext4RouteSource(c, route)
	build := Step{Kind: StepBuildImage,
		Desc: "build the ext4 image of the filtered tree" + ownerNote(c) + " (route " + route + "); debugfs then gives the root directory " +
			"the tree root's mode, owner and mtime and removes lost+found",
		Commands: [][]string{mkfs, debugfsArgv(e2fsCommand(c, "debugfs"), image, filepath.Join(c.Work, ext4Fixup))},
		Images:   []string{image},
		Run: func(ctx context.Context, env Env) (func(), error) {
			return nil, buildExt4Route(ctx, argv, c, env, route)
		}}
	mount := protocol.Step{Kind: protocol.StepMount, Name: "mount", Source: "/dev/vda", Target: c.Mountpoint, FSType: "ext4"}
	blk, refused, err := blockOf("ext4", c)
	if err != nil {
		return Setup{}, err
	}
	if _, err := daxAligned("ext4", c.Params); err != nil {
		return Setup{}, err
	}
	if !pmemWanted(c.Params) {
		return Setup{Modules: append(blkModules(blk), ext4Modules...), Steps: []Step{build},
			Devices: []Device{Disk{Path: image, Snapshot: true, Block: blk}},
			Guest:   []protocol.Step{mount}, Refused: refused}, nil
	}
	// As persistent memory the image is mapped privately: the guest writes copies of the
	// pages in QEMU's memory, never the file, so it is mounted read-write with no overlay,
	// as on a disk with snapshot=on.
	if err := pmemRefusal("ext4", c); err != nil {
		return Setup{}, err
	}
	build.Desc += "; 4 KiB blocks, for DAX"
	if ext4DAXAligned(c.Params) {
		build.Desc += ", in 2 MiB clusters (bigalloc), so that every file's data starts 2 MiB-aligned"
	}
	mount.Source, mount.Options, mount.DAX = pmemDevice, pmemOptions, true
	return Setup{
		Modules: append(slices.Clone(pmemModules), "crc32c_generic", "ext4"),
		Steps:   []Step{build},
		Devices: []Device{Pmem{Path: image, Size: ext4ImageSize(c), Private: true}},
		Guest:   []protocol.Step{mount},
	}, nil
}

// HandBuild implements HandBuilder: mkfs.ext4 -d on src, with the size and inode count the
// build computes from the filtered tree (the copy has the same).
func (Ext4) HandBuild(c Config, src string) ([]string, error) {
	argv := ext4Argv(c)
	argv[slices.Index(argv, ext4Source)] = src
	return argv, nil
}

// BeyondHand implements HandBuilder.
func (Ext4) BeyondHand() string {
	return "vmfsbench also walks the tree to size the image (tree.MeasureTree), sets up a private mount namespace with an " +
		"id-mapped, read-only bind mount and an overlay of whiteouts over the excluded paths (mkfs.ext4 reads through both), " +
		"and runs debugfs to set the root directory's attributes and remove lost+found; by hand, the copy was made and " +
		"chown'ed beforehand, untimed."
}

// ext4ImageSize is the image's size in bytes: size, or auto's estimate; with device: pmem
// rounded up to what QEMU maps.
func ext4ImageSize(c Config) int64 {
	size := c.Size.Ext4Size()
	if n, err := param.ParseSize(c.Params.Str("size")); err == nil {
		size = n
	}
	if ext4DAXAligned(c.Params) {
		size += (c.Size.Files + c.Size.Dirs + c.Size.Symlinks) * daxAlignBlocks * ext4Block // a cluster each, at most
	}
	if pmemWanted(c.Params) {
		size = pmemSize(size)
	}
	return size
}

// ext4DAXAligned says whether the ext4 image is built in 2 MiB clusters (bigalloc) for
// dax_align: 2MiB. mkfs.ext4 -d places a file's data where its allocator finds room, at no
// particular alignment (measured, e2fsprogs 1.47.0: a 16 MiB file at block 4139) and ignores
// -E stride/stripe_width; with bigalloc every file starts on a cluster (block 2048).
func ext4DAXAligned(p Params) bool { return pmemWanted(p) && p.Str("dax_align") == "2MiB" }

// ext4Argv is the build's mkfs.ext4 command with ext4Source for what the route reads.
func ext4Argv(c Config) []string {
	size := ext4ImageSize(c)
	argv := append(e2fsCommand(c, "mkfs.ext4"), "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0")
	inodes := c.Size.Ext4Inodes(size)
	if pmemWanted(c.Params) {
		argv = append(argv, "-b", "4096") // DAX needs blocks of the page size; small images get 1 KiB
	}
	if ext4DAXAligned(c.Params) {
		argv = append(argv, "-O", "bigalloc", "-C", "2M")
		inodes = c.Size.Ext4Inodes(c.Size.Ext4Size()) // the clusters' room needs no inodes
	}
	return append(argv, "-E", "lazy_itable_init=0,lazy_journal_init=0", "-N", strconv.FormatInt(inodes, 10),
		"-d", ext4Source, img(c, "tree.ext4"), fmt.Sprintf("%dk", size>>10)) // mke2fs reads a bare number as KiB; k says so
}

// e2fsCommand is how the cell runs prog, mkfs.ext4 or debugfs: the host's, or the fetched
// e2fsprogs' through the host's loader when the probe chose it (see probeMke2fs).
func e2fsCommand(c Config, prog string) []string {
	m, _ := c.Tools[e2fsprogs.Name].Detail.(Mke2fs)
	switch {
	case prog == "mkfs.ext4" && len(m.Mkfs) > 0:
		return slices.Clone(m.Mkfs)
	case prog == "debugfs" && len(m.Debugfs) > 0:
		return slices.Clone(m.Debugfs)
	}
	return []string{prog}
}

// ext4Route is the route buildExt4 takes for the cell on this host: the study's own
// `tar | mkfs.ext4 -d -` wherever mkfs.ext4 reads tar (e2fsprogs 1.47.1 and libarchive),
// else the fastest route that works here.
func ext4Route(c Config) string {
	// The tar route cannot carry a name that is not UTF-8: libarchive, reading the stream
	// for mkfs.ext4, fails on it ("Pathname can't be converted from UTF-8").
	if m, ok := c.Tools[e2fsprogs.Name].Detail.(Mke2fs); ok && m.TarInput && c.Survey.NonUTF8 == 0 {
		return RouteTar
	}
	switch {
	case len(c.Hidden) == 0 && !ext4MapsOwner(c):
		return RouteDirect
	case c.CanMount:
		return RouteView
	}
	if v, ok := c.Tools[e2fsprogs.Name].Detail.(E2fsVersion); ok && v.AtLeast(1, 47, 1) {
		return RouteTar
	}
	return RouteStaging
}

// ext4MapsOwner says that some entry's owner is not the one the spec wants.
func ext4MapsOwner(c Config) bool {
	ts := c.Size
	return c.Owner != nil && (ts.MixedOwners || ts.UID != uint32(c.Owner.UID) || ts.GID != uint32(c.Owner.GID))
}

// ext4RouteSource is what mkfs.ext4 -d reads on route.
func ext4RouteSource(c Config, route string) string {
	switch route {
	case RouteView, RouteViewUnmapped:
		if len(c.Hidden) > 0 {
			return filepath.Join(c.Work, "view", "view")
		}
		return filepath.Join(c.Work, "view", "tree")
	case RouteTar:
		return "-"
	case RouteStaging:
		return filepath.Join(c.Work, "staging")
	}
	return c.Tree
}

func ownerNote(c Config) string {
	if c.Owner == nil {
		return ""
	}
	return fmt.Sprintf(", every file owned by %d:%d", c.Owner.UID, c.Owner.GID)
}

// errNoRoute says that a way of building the ext4 image cannot work here (a missing
// privilege or kernel feature); the next one is tried.
var errNoRoute = errors.New("route unavailable")

// ext4Build is one run of the ext4 image's build step.
type ext4Build struct {
	argv  []string // the step's command, with the tree's size filled in
	c     Config
	env   Env
	ts    TreeSize
	image string
	root  unix.Stat_t // the tree's root directory
	// mapOwner says that some entry's owner is not the one wanted.
	mapOwner bool
}

// buildExt4 builds the ext4 image the step's command describes, reading the tree without
// ever writing to it, by the fastest of these routes that works here:
//
//   - direct: nothing is excluded and no owner has to change: mkfs.ext4 -d reads the tree.
//   - view: as root, in a private mount namespace that ends with the build, the tree is
//     bind-mounted read-only and, when its files all have one owner and another is asked,
//     id-mapped to that owner (mount_setattr MOUNT_ATTR_IDMAP); an overlay puts whiteouts
//     over the excluded paths; mkfs.ext4 -d reads that view. Without id-mapped mounts
//     (old kernel, a file system without them, several owners in the tree) the view is not
//     id-mapped and debugfs sets the owners afterwards.
//   - tar: e2fsprogs 1.47.1 and later read a tar stream: tree.WriteTar writes the filtered,
//     owner-mapped tree into mkfs.ext4 -d -.
//   - staging: a staging tree in the work directory, of copies of the tree's files (never
//     hard links, which would change their ctime), the directories and symlinks recreated,
//     the special entries left out; debugfs sets the owners afterwards.
//
// Every route then runs debugfs to give the image's root directory the mode, owner and
// mtime of the tree's root (mkfs.ext4 makes it 0755, root-owned, with the time of the build)
// and to remove the lost+found that mkfs.ext4 adds, unless the tree has one. mkfs.ext4 1.47.0
// keeps mtimes to the second.
func buildExt4(ctx context.Context, argv []string, c Config, env Env) error {
	return buildExt4Route(ctx, argv, c, env, "")
}

// Routes of buildExt4, which tests and benchmarks may force.
const (
	RouteDirect       = "direct"
	RouteView         = "view"          // id-mapped where possible, else like RouteViewUnmapped
	RouteViewUnmapped = "view-unmapped" // never id-mapped: debugfs sets the owners
	RouteTar          = "tar"
	RouteStaging      = "staging"
)

// buildExt4Route is buildExt4 by the given route ("" chooses; a forced route that cannot
// work here is an error).
func buildExt4Route(ctx context.Context, argv []string, c Config, env Env, force string) error {
	switch force {
	case "", RouteDirect, RouteView, RouteViewUnmapped, RouteTar, RouteStaging:
	default:
		return fmt.Errorf("ext4: unknown route %q", force)
	}
	if len(argv) < 2 {
		return fmt.Errorf("ext4: malformed command %q", argv)
	}
	t0 := time.Now()
	ts := c.Size
	if ts.Inodes == 0 { // not measured by the host probe: the command is sized now
		var err error
		if ts, err = MeasureTree(ctx, c.Tree, env.Matcher); err != nil {
			return err
		}
		c.Size = ts
		argv = ext4Argv(c)
	}
	fmt.Fprintf(env.Log, "ext4: the filtered tree has %d files, %d directories, %d symlinks, %d bytes in %d inodes (%d ext4 blocks), owner %s (walked in %s)\n",
		ts.Files, ts.Dirs, ts.Symlinks, ts.Bytes, ts.Inodes, ts.Blocks, ownersText(ts), time.Since(t0).Round(time.Millisecond))
	b := &ext4Build{argv: append([]string(nil), argv...), c: c, env: env, ts: ts, image: argv[len(argv)-2]}
	if err := unix.Stat(c.Tree, &b.root); err != nil {
		return fmt.Errorf("ext4: %w", &os.PathError{Op: "stat", Path: c.Tree, Err: err})
	}
	b.mapOwner = c.Owner != nil && (ts.MixedOwners || ts.UID != uint32(c.Owner.UID) || ts.GID != uint32(c.Owner.GID))
	route := force
	if route == "" {
		route = ext4Route(c)
		if route == RouteStaging && !c.CanMount && len(c.Tools) == 0 {
			route = RouteView // not probed (a direct call): try the view, which falls back
		}
	}
	var err error
	var fixOwners bool // debugfs must set every entry's owner
	staged := c.Tree   // where the entries mkfs.ext4 read are, for fixOwners
	switch route {
	case RouteDirect:
		fmt.Fprintf(env.Log, "ext4: route direct: nothing is excluded in this tree and its owners stay; mkfs.ext4 reads the tree itself\n")
		err = b.mkfs(ctx, c.Tree, nil)
	case RouteView, RouteViewUnmapped:
		fixOwners, err = b.viaView(ctx, route == RouteView)
		if !errors.Is(err, errNoRoute) || force != "" {
			break
		}
		fmt.Fprintf(env.Log, "ext4: no mount view: %v\n", err)
		if v, verr := mke2fsVersion(); verr == nil && v.AtLeast(1, 47, 1) {
			route = RouteTar
		} else {
			if verr != nil {
				fmt.Fprintf(env.Log, "ext4: %v\n", verr)
			}
			fmt.Fprintf(env.Log, "ext4: mke2fs %s takes no tar stream (1.47.1 does)\n", v)
			route = RouteStaging
		}
	}
	switch route {
	case RouteTar:
		fmt.Fprintf(env.Log, "ext4: route tar: tree.WriteTar streams the filtered tree%s into mkfs.ext4 -d -\n", ownerNote(c))
		fixOwners, err = false, b.viaTar(ctx)
	case RouteStaging:
		fmt.Fprintf(env.Log, "ext4: route staging: a staging tree of copies in the work directory; debugfs sets the owners\n")
		staged = filepath.Join(c.Work, "staging")
		fixOwners, err = true, b.viaStaging(ctx, staged)
	}
	if errors.Is(err, errNoRoute) {
		return fmt.Errorf("ext4: route %s, planned for this cell, cannot run here now: %w", route, err)
	}
	if err != nil {
		return err
	}
	if err := b.fixup(ctx, fixOwners, staged); err != nil {
		return err
	}
	fmt.Fprintf(env.Log, "ext4: image built in %s\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

func ownersText(ts TreeSize) string {
	if ts.MixedOwners {
		return fmt.Sprintf("%d:%d and others", ts.UID, ts.GID)
	}
	return fmt.Sprintf("%d:%d throughout", ts.UID, ts.GID)
}

// mkfs runs the step's command reading src (a directory, or "-" for stdin).
func (b *ext4Build) mkfs(ctx context.Context, src string, stdin io.Reader) error {
	return runTool(ctx, b.env.Log, b.command(src), stdin)
}

// command is the step's command reading src.
func (b *ext4Build) command(src string) []string {
	argv := append([]string(nil), b.argv...)
	for i, a := range argv {
		if a == ext4Source {
			argv[i] = src
		}
	}
	return argv
}

// viaView builds the image from a mount view of the tree (see buildExt4). It reports
// whether the owners still need fixing; errNoRoute when no view can be made here.
func (b *ext4Build) viaView(ctx context.Context, allowIdmap bool) (fixOwners bool, err error) {
	if !hasCap(capSysAdmin) {
		return false, fmt.Errorf("%w: mounting needs CAP_SYS_ADMIN", errNoRoute)
	}
	v := viewSpec{tree: b.c.Tree, hidden: b.c.Hidden, work: b.c.Work}
	what := fmt.Sprintf("%d excluded paths hidden by an overlay's whiteouts", len(b.c.Hidden))
	if len(b.c.Hidden) == 0 {
		what = "nothing excluded in this tree"
	}
	mapOwner := b.mapOwner
	if mapOwner && !b.ts.MixedOwners && allowIdmap {
		v.idmap = &idmap{fromUID: b.ts.UID, fromGID: b.ts.GID, toUID: uint32(b.c.Owner.UID), toGID: uint32(b.c.Owner.GID)}
		fmt.Fprintf(b.env.Log, "ext4: route view: private mount namespace, the tree read-only and id-mapped %d:%d -> %d:%d, %s\n",
			b.ts.UID, b.ts.GID, b.c.Owner.UID, b.c.Owner.GID, what)
		err = runInView(ctx, b.env.Log, v, b.command)
		if !errors.Is(err, errNoRoute) {
			return false, err
		}
		fmt.Fprintf(b.env.Log, "ext4: no id-mapped view: %v\n", err)
		v.idmap = nil
	}
	why := "the owners stay"
	if mapOwner {
		why = "debugfs sets the owners afterwards"
		if b.ts.MixedOwners {
			why += " (the tree has several owners; an id-mapped mount maps only one)"
		}
	}
	fmt.Fprintf(b.env.Log, "ext4: route view: private mount namespace, the tree read-only, %s; %s\n", what, why)
	return mapOwner, runInView(ctx, b.env.Log, v, b.command)
}

// viaTar builds the image from tree.WriteTar's stream (e2fsprogs 1.47.1 and later).
func (b *ext4Build) viaTar(ctx context.Context) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("ext4: %w", err)
	}
	var owner *tree.Owner
	if b.c.Owner != nil {
		owner = &tree.Owner{UID: b.c.Owner.UID, GID: b.c.Owner.GID}
	}
	tarErr := make(chan error, 1)
	go func() {
		_, err := tree.WriteTar(ctx, w, b.c.Tree, b.env.Matcher, owner)
		w.Close()
		tarErr <- err
	}()
	err = b.mkfs(ctx, "-", r)
	r.Close() // a writer still writing now fails instead of blocking
	if terr := <-tarErr; err == nil && terr != nil {
		err = fmt.Errorf("ext4: tar stream of %s: %w", b.c.Tree, terr)
	}
	return err
}

// viaStaging builds the image from a staging tree at dir (see stageTree), removed after.
func (b *ext4Build) viaStaging(ctx context.Context, dir string) error {
	defer removeStaging(dir)
	t0 := time.Now()
	copies, err := stageTree(ctx, b.c.Tree, b.env.Matcher, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.env.Log, "ext4: staging tree %s: %d copies (in %s)\n", dir, copies, time.Since(t0).Round(time.Millisecond))
	if err := b.mkfs(ctx, dir, nil); err != nil {
		return err
	}
	// The owner fix-up reads the staged owners: keep the tree until it is done.
	return b.fixup(ctx, true, dir)
}

// fixup writes and runs the debugfs commands every route needs (see buildExt4); with
// fixOwners, also one per entry whose owner in the image, that of the same path under
// staged, is not the one wanted. It runs once: viaStaging calls it before its staging tree
// goes, and buildExt4's call then finds it done.
func (b *ext4Build) fixup(ctx context.Context, fixOwners bool, staged string) error {
	if b.image == "" {
		return nil
	}
	image := b.image
	b.image = ""
	var script strings.Builder
	n := 0
	add := func(format string, args ...any) {
		fmt.Fprintf(&script, format+"\n", args...)
		n++
	}
	if !b.ts.RootHasLostFound {
		add("rmdir lost+found")
	}
	if fixOwners {
		err := tree.Walk(ctx, b.c.Tree, b.env.Matcher, func(e tree.Entry) error {
			var have unix.Stat_t // the entry as mkfs.ext4 read it
			p := e.Abs
			if staged != b.c.Tree {
				if !e.Mode.IsDir() && !e.Mode.IsRegular() && e.Mode&fs.ModeSymlink == 0 {
					return nil // a special entry: not staged (stageTree), not in the image
				}
				p = filepath.Join(staged, filepath.FromSlash(e.Rel))
			}
			if err := unix.Lstat(p, &have); err != nil {
				return fmt.Errorf("ext4: %w", &os.PathError{Op: "lstat", Path: p, Err: err})
			}
			want := have
			if b.c.Owner != nil {
				want.Uid, want.Gid = uint32(b.c.Owner.UID), uint32(b.c.Owner.GID)
			} else if staged != b.c.Tree {
				if err := unix.Lstat(e.Abs, &want); err != nil {
					return fmt.Errorf("ext4: %w", &os.PathError{Op: "lstat", Path: e.Abs, Err: err})
				}
			}
			if have.Uid == want.Uid && have.Gid == want.Gid {
				return nil
			}
			q, err := debugfsQuote("/" + e.Rel)
			if err != nil {
				return fmt.Errorf("ext4: cannot set its owner: %w", err)
			}
			if have.Uid != want.Uid {
				add("sif %s uid %d", q, want.Uid)
			}
			if have.Gid != want.Gid {
				add("sif %s gid %d", q, want.Gid)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	uid, gid := b.root.Uid, b.root.Gid
	if b.c.Owner != nil {
		uid, gid = uint32(b.c.Owner.UID), uint32(b.c.Owner.GID)
	}
	add("sif / mode 0%o", unix.S_IFDIR|b.root.Mode&0o7777)
	add("sif / uid %d", uid)
	add("sif / gid %d", gid)
	add("sif / mtime @%d", b.root.Mtim.Sec) // last: removing lost+found changed it
	file := filepath.Join(b.c.Work, ext4Fixup)
	if err := os.WriteFile(file, []byte(script.String()), 0o644); err != nil {
		return fmt.Errorf("ext4: %w", err)
	}
	t0 := time.Now()
	// mkfs.ext4 -d makes lost+found; were it ever missing, there is nothing to remove.
	if err := runDebugfs(ctx, b.env.Log, e2fsCommand(b.c, "debugfs"), image, file, n, "rmdir: File not found by ext2_lookup"); err != nil {
		return err
	}
	fmt.Fprintf(b.env.Log, "ext4: debugfs took %s\n", time.Since(t0).Round(time.Millisecond))
	return nil
}

// stageTree recreates the filtered tree at dst (which must not exist) for mkfs.ext4 -d:
// directories and symlinks are made anew with the tree's modes and times; regular files are
// copies with the same mode and times (copy_file_range, so a file system that shares
// extents copies nothing). They are never hard links to the tree's files: a link changes the
// file's ctime and link count, and the tree must not change. Files hard-linked in the tree
// stay linked to each other. Sockets, FIFOs and devices are left out, as the digest and tar
// streams leave them out. It returns how many files it copied.
func stageTree(ctx context.Context, root string, m *tree.Matcher, dst string) (copies int, err error) {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return 0, fmt.Errorf("staging tree: %w", err)
	}
	type dirAttr struct {
		path string
		st   unix.Stat_t
	}
	var dirs []dirAttr
	copied := map[[2]uint64]string{} // copied inodes with more than one link -> first copy
	err = tree.Walk(ctx, root, m, func(e tree.Entry) error {
		p := filepath.Join(dst, filepath.FromSlash(e.Rel))
		var st unix.Stat_t
		if err := unix.Lstat(e.Abs, &st); err != nil {
			return fmt.Errorf("staging tree: %w", &os.PathError{Op: "lstat", Path: e.Abs, Err: err})
		}
		switch {
		case e.Mode.IsDir():
			if err := os.Mkdir(p, 0o700); err != nil {
				return fmt.Errorf("staging tree: %w", err)
			}
			dirs = append(dirs, dirAttr{p, st})
		case e.Mode&fs.ModeSymlink != 0:
			if err := os.Symlink(e.Target, p); err != nil {
				return fmt.Errorf("staging tree: %w", err)
			}
			return setTimes(p, &st)
		case e.Mode.IsRegular():
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := copied[key]; ok {
				if err := os.Link(first, p); err != nil {
					return fmt.Errorf("staging tree: %w", err)
				}
				return nil
			}
			if err := copyFile(e.Abs, p, &st); err != nil {
				return err
			}
			copies++
			if st.Nlink > 1 {
				copied[key] = p
			}
		}
		return nil
	})
	if err != nil {
		return copies, err
	}
	for i := len(dirs) - 1; i >= 0; i-- { // children first: making them changed the parent's mtime
		d := dirs[i]
		if err := unix.Chmod(d.path, d.st.Mode&0o7777); err != nil {
			return copies, fmt.Errorf("staging tree: %w", &os.PathError{Op: "chmod", Path: d.path, Err: err})
		}
		if err := setTimes(d.path, &d.st); err != nil {
			return copies, err
		}
	}
	return copies, nil
}

// copyFile copies the regular file src to the new file dst with src's mode and times.
func copyFile(src, dst string, st *unix.Stat_t) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("staging tree: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("staging tree: %w", err)
	}
	_, err = io.Copy(out, in) // copy_file_range where the kernel can
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Chmod(dst, st.Mode&0o7777)
	}
	if err != nil {
		return fmt.Errorf("staging tree: copy %s: %w", src, err)
	}
	return setTimes(dst, st)
}

// setTimes gives p (not following a symlink) the access and modification times in st.
func setTimes(p string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("staging tree: %w", &os.PathError{Op: "utimes", Path: p, Err: err})
	}
	return nil
}

// removeStaging removes a staging tree, making its directories writable first (a tree may
// hold read-only directories, which stop an unprivileged RemoveAll). Its files are links
// and copies: removing them never touches the tree's data.
func removeStaging(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}
