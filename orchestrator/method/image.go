package method

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/proc"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"

	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// TreeSize is what one walk of the filtered tree tells about the images that can hold it.
type TreeSize struct {
	Files    int64 // regular files; every path of a hard-linked file counts
	Dirs     int64 // directories, the root included
	Symlinks int64
	Bytes    int64 // content bytes of the regular files, every inode once
	Inodes   int64 // distinct inodes: files (hard links once), directories and symlinks
	// Blocks is the number of 4 KiB blocks an ext4 file system needs for the contents (every
	// file rounded up to whole blocks), the targets of symlinks too long to live in the inode,
	// and the directories (their entries, 8 bytes plus the name rounded up to 4, packed into
	// blocks, plus an index block for directories of more than one block).
	Blocks int64
	// UID and GID are the owner of the first entry walked (the root); MixedOwners says that
	// some entry has another.
	UID, GID    uint32
	MixedOwners bool
	// RootHasLostFound says that the filtered tree has an entry "lost+found" at its root.
	RootHasLostFound bool
}

// ext4 layout constants the size estimates use.
const (
	ext4Block        = 4096
	ext4InodeSize    = 256
	ext4FastSymlink  = 60 // targets shorter than this live in the inode
	ext4MinImage     = 64 << 20
	ext4InodeRatio   = 16384 // mke2fs's default bytes per inode
	scratchMin       = 1 << 30
	scratchInodeSize = 4096 // bytes per inode of a scratch disk: an inode per block
)

// MeasureTree walks the tree at root without what m excludes (nil: nothing) and returns its
// size. It costs one lstat per entry and reads no file: 0.09 s for the 20,000-file synthetic
// tree (21,000 entries) with a warm dentry cache.
func MeasureTree(ctx context.Context, root string, m *tree.Matcher) (TreeSize, error) {
	var ts TreeSize
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return ts, fmt.Errorf("measure tree %s: %w", root, err)
	}
	ts.UID, ts.GID = st.Uid, st.Gid
	ts.Dirs, ts.Inodes = 1, 1
	dirBytes := map[string]int64{} // directory (Rel, "" for the root) -> bytes of its entries
	linked := map[[2]uint64]bool{} // inodes with more than one link already counted
	err := tree.Walk(ctx, root, m, func(e tree.Entry) error {
		if err := unix.Lstat(e.Abs, &st); err != nil {
			return fmt.Errorf("measure tree: %w", &os.PathError{Op: "lstat", Path: e.Abs, Err: err})
		}
		if st.Uid != ts.UID || st.Gid != ts.GID {
			ts.MixedOwners = true
		}
		parent, name := path.Split(e.Rel)
		dirBytes[strings.TrimSuffix(parent, "/")] += 8 + (int64(len(name))+3)&^3
		if e.Rel == "lost+found" {
			ts.RootHasLostFound = true
		}
		switch {
		case e.Mode.IsDir():
			ts.Dirs++
			ts.Inodes++
		case e.Mode.IsRegular():
			ts.Files++
			if st.Nlink > 1 {
				key := [2]uint64{st.Dev, st.Ino}
				if linked[key] {
					return nil
				}
				linked[key] = true
			}
			ts.Inodes++
			ts.Bytes += st.Size
			ts.Blocks += (st.Size + ext4Block - 1) / ext4Block
		case e.Mode&os.ModeSymlink != 0:
			ts.Symlinks++
			ts.Inodes++
			if len(e.Target) >= ext4FastSymlink {
				ts.Blocks++
			}
		default: // sockets, FIFOs and devices take an inode and no block
			ts.Inodes++
		}
		return nil
	})
	if err != nil {
		return ts, err
	}
	ts.Blocks += ts.Dirs - int64(len(dirBytes)) // empty directories still take a block
	for _, b := range dirBytes {
		n := (b + 24 + ext4Block - 1) / ext4Block // 24: the "." and ".." entries
		if n > 1 {
			n++ // the htree index block
		}
		ts.Blocks += n
	}
	return ts, nil
}

// Ext4Inodes is the inode count to give mke2fs (-N) for an image of the tree: its inodes,
// a fifth more for the files the guest creates, and 1,024 for small trees; never fewer than
// mke2fs's default for an image of sizeBytes (one inode per 16 KiB).
func (ts TreeSize) Ext4Inodes(sizeBytes int64) int64 {
	return max(ts.Inodes+ts.Inodes/5+1024, sizeBytes/ext4InodeRatio)
}

// Ext4Size is the image size for `size: auto`:
//
//	(Blocks × 4 KiB  +  inodes × 256 B) × 1.2, rounded up to a MiB, at least 64 MiB
//
// Blocks already rounds every file up to whole 4 KiB blocks and counts the directories
// (MeasureTree); 256 bytes is the size of an inode in the inode tables, for the inode count
// the image gets (Ext4Inodes). The fifth on top covers the rest of the metadata (block and
// inode bitmaps, group descriptors and their reserve, superblock copies, extent blocks of
// fragmented files) and leaves room for what the guest writes. Images have no journal and
// no blocks reserved for root, so the whole size is usable. 64 MiB keeps tiny trees in a
// normal ext4 layout.
func (ts TreeSize) Ext4Size() int64 {
	inodes := ts.Inodes + ts.Inodes/5 + 1024
	raw := ts.Blocks*ext4Block + inodes*ext4InodeSize
	return max(ext4MinImage, roundUp(raw+raw/5, 1<<20))
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// ScratchSize is the size of the scratch disk of a tree of treeBytes content bytes: room
// for a full copy of the tree (a tar stream extracted onto it, or an overlay's upper layer
// after the workload rewrote everything) and as much again, at least 1 GiB. The file is
// sparse: the host only stores what is written.
func ScratchSize(treeBytes int64) int64 { return max(2*treeBytes, scratchMin) }

// ScratchFile is the scratch disk's file in the cell's work directory.
const ScratchFile = "scratch.ext4"

// scratchWanted says whether the cell's method needs a scratch disk: an overlay whose upper
// layer is on disk, or a tar stream extracted onto disk.
func scratchWanted(p Params) bool {
	return p.Str("upper") == "disk" || p.Str("target") == "disk"
}

// scratchSteps is the host step that makes the scratch disk, when the cell needs one: an
// empty ext4 file system on a sparse file of ScratchSize of the filtered tree's bytes, with
// an inode per 4 KiB block (a tree of small files must fit as well as a tree of big ones), no
// journal, no reserved blocks, and its inode tables zeroed on the host (they are zeroed
// ranges of a sparse file, so this costs nothing) so that the guest's ext4lazyinit thread
// never writes them during the workload.
func scratchSteps(c Config) []Step {
	if !scratchWanted(c.Params) {
		return nil
	}
	return []Step{{Kind: StepBuildImage,
		Desc:     "make the scratch disk: an empty ext4 file system of twice the filtered tree's bytes, at least 1 GiB (sparse)",
		Commands: [][]string{ScratchArgv(img(c, ScratchFile), ScratchSize(c.Size.Bytes))}}}
}

// ScratchArgv is the command that makes an empty ext4 file system of size bytes in the file
// at path (created sparse if missing).
func ScratchArgv(path string, size int64) []string {
	return []string{"mkfs.ext4", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0",
		"-i", strconv.Itoa(scratchInodeSize), "-E", "lazy_itable_init=0,lazy_journal_init=0",
		path, strconv.FormatInt(size>>10, 10) + "k"}
}

// scratchTools are the tools of the scratch disk, when the cell has one.
func scratchTools(p Params) []Tool {
	if !scratchWanted(p) {
		return nil
	}
	return []Tool{e2fsprogs}
}

// e2fsprogs is mkfs.ext4, asked its version as mke2fs -V and whether it reads tar (one
// definition for the ext4 method and the scratch disks: the host probe keeps the first).
var e2fsprogs = Tool{Name: "e2fsprogs", Package: "e2fsprogs", Paths: []string{"mkfs.ext4"}, Probe: probeMke2fs}

// scratchDevices attaches the scratch disk, when the cell has one, after the tree's image:
// the guest names virtio-blk disks vda, vdb, ... in the order QEMU attaches them. It is on the
// bus of the tree's disk (DiskBus) and has QEMU's defaults otherwise.
func scratchDevices(c Config) []Device {
	if !scratchWanted(c.Params) {
		return nil
	}
	return []Device{Disk{Path: img(c, ScratchFile), Block: qemu.Block{Bus: c.Params.Str("bus")}}}
}

// runTool runs argv in its own process group (killed as a whole when ctx ends, and when
// vmfsbench dies), logging the command and its output to log; stdin may be nil. Its error
// quotes the last lines the tool printed.
func runTool(ctx context.Context, log io.Writer, argv []string, stdin io.Reader) error {
	fmt.Fprintf(log, "$ %s\n", qemu.Quote(argv))
	ran(log, argv)
	name := progName(argv)
	out := &tailWriter{w: log, prefix: name + ": "}
	cmd := proc.Command(ctx, argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, out
	if stdin != nil {
		// A tool reading a tar stream (mkfs.ext4 -d - through libarchive) converts the
		// archive's UTF-8 path names to the locale's charset and fails in the C locale.
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	}
	err := cmd.Run()
	out.flush()
	if err != nil {
		return fmt.Errorf("%s: %w%s", name, err, out.tailNote())
	}
	return nil
}

// progName is the program argv runs, for its messages: argv[0], or where argv[0] is a
// dynamic loader running a fetched tool (debarchive's "ld-linux-x86-64.so.2 --library-path
// DIRS PROG"), the base name of PROG.
func progName(argv []string) string {
	base := filepath.Base(argv[0])
	if !strings.HasPrefix(base, "ld-linux") && !strings.HasPrefix(base, "ld.so") && !strings.HasPrefix(base, "ld64.so") {
		return argv[0]
	}
	for i := 1; i < len(argv); i++ {
		switch a := argv[i]; {
		case a == "--library-path" || a == "--argv0" || a == "--preload" || a == "--audit":
			i++
		case strings.HasPrefix(a, "--"):
		default:
			return filepath.Base(a)
		}
	}
	return argv[0]
}

// debugfsQuote quotes a path for a debugfs command file: debugfs splits its lines at blanks,
// a double-quoted word may hold anything but a newline, and "" inside quotes is one quote. A
// name holding a newline or carriage return cannot be written (debugfs cuts its command
// lines at both).
func debugfsQuote(p string) (string, error) {
	if strings.ContainsAny(p, "\n\r") {
		return "", fmt.Errorf("path %q holds a newline, which a debugfs command cannot name", p)
	}
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`, nil
}

// debugfsArgv applies the debugfs command file script to image with debugfs, the command
// that runs debugfs (its path, or a loader and its path).
func debugfsArgv(debugfs []string, image, script string) []string {
	return append(slices.Clone(debugfs), "-w", "-f", script, image)
}

// runDebugfs applies a debugfs command file to an ext4 image. debugfs exits 0 even when a
// command fails and reports failures on stderr, after its version banner: anything else
// there is an error, but for lines starting with one of the allowed prefixes.
func runDebugfs(ctx context.Context, log io.Writer, debugfs []string, image, script string, commands int, allowed ...string) error {
	argv := debugfsArgv(debugfs, image, script)
	fmt.Fprintf(log, "$ %s   (%d commands)\n", qemu.Quote(argv), commands)
	ran(log, argv)
	var stderr bytes.Buffer
	cmd := proc.Command(ctx, argv...)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr // stdout echoes every command
	err := cmd.Run()
	var problems []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		line = strings.TrimSpace(line)
		ok := line == "" || strings.HasPrefix(line, "debugfs ")
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(line, a)
		}
		if !ok {
			problems = append(problems, line)
		}
	}
	if err == nil && len(problems) == 0 {
		return nil
	}
	io.Copy(log, &stderr)
	if len(problems) > 3 {
		problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
	}
	if err == nil {
		err = errors.New("commands failed")
	}
	return fmt.Errorf("debugfs on %s: %w: %s", image, err, strings.Join(problems, "; "))
}

// E2fsVersion is a version of e2fsprogs.
type E2fsVersion struct{ Major, Minor, Patch int }

// AtLeast reports whether v is major.minor.patch or later.
func (v E2fsVersion) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

// String is the version as e2fsprogs writes it, such as "1.47.0".
func (v E2fsVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

var mke2fsVersionRE = regexp.MustCompile(`(?m)^mke2fs (\d+)\.(\d+)(?:\.(\d+))?`)

// ParseMke2fsVersion reads the version from what `mke2fs -V` prints, such as
// "mke2fs 1.47.0 (5-Feb-2023)".
func ParseMke2fsVersion(out string) (E2fsVersion, error) {
	m := mke2fsVersionRE.FindStringSubmatch(out)
	if m == nil {
		return E2fsVersion{}, fmt.Errorf("mke2fs -V printed no version: %q", strings.TrimSpace(out))
	}
	var v E2fsVersion
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3]) // "1.47" has no patch level: 0
	return v, nil
}

// mke2fsVersion asks mkfs.ext4 for its version, once per process.
var mke2fsVersion = sync.OnceValues(func() (E2fsVersion, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-V").CombinedOutput()
	if err != nil {
		return E2fsVersion{}, fmt.Errorf("mkfs.ext4 -V: %w: %s", err, bytes.TrimSpace(out))
	}
	return ParseMke2fsVersion(string(out))
})

// viewSpec describes a mount view of the tree for mkfs.ext4 -d.
type viewSpec struct {
	tree   string
	hidden []string // hidden by whiteouts
	idmap  *idmap   // nil: owners as on disk
	work   string   // the cell's work directory, where the view's mount points go
}

// idmap maps the one owner of a tree's files to another.
type idmap struct{ fromUID, fromGID, toUID, toGID uint32 }

// runInView runs the command argv(dir) makes, dir being the view v of the tree, in a private
// mount namespace: the namespace of one locked OS thread, made with unshare(CLONE_NEWNS) and
// marked private before any mount, inherited by the command the thread starts. Nothing is
// mounted in the host's namespace, and the view's mounts vanish with the thread and the
// command, whatever happens to vmfsbench. The tree is bind-mounted read-only, so even a
// mistake here could not write to it.
//
// An error that wraps errNoRoute means the view could not be made and the command did not
// run.
func runInView(ctx context.Context, log io.Writer, v viewSpec, argv func(dir string) []string) error {
	base, err := viewBase(v.work)
	if err != nil {
		return fmt.Errorf("%w: %v", errNoRoute, err)
	}
	defer removeViewBase(log, base)
	treeDir, whiteouts, merged := filepath.Join(base, "tree"), filepath.Join(base, "whiteouts"), filepath.Join(base, "view")
	for _, d := range []string{treeDir, merged} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("%w: %v", errNoRoute, err)
		}
	}
	if len(v.hidden) > 0 {
		if err := makeWhiteouts(whiteouts, v); err != nil {
			return fmt.Errorf("%w: %v", errNoRoute, err)
		}
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends the thread, and the
		// namespace ends with it once the command has exited.
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("%w: unshare(CLONE_NEWNS): %v", errNoRoute, err)
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("%w: making the private mount namespace private: %v", errNoRoute, err)
			}
			if err := mountTree(v, treeDir); err != nil {
				return fmt.Errorf("%w: %v", errNoRoute, err)
			}
			src := treeDir
			if len(v.hidden) > 0 {
				opts := "lowerdir=" + whiteouts + ":" + treeDir
				if err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, opts); err != nil {
					return fmt.Errorf("%w: mount -t overlay -o %s: %v", errNoRoute, opts, err)
				}
				src = merged
			}
			return runTool(ctx, log, argv(src), nil)
		}()
	}()
	return <-done
}

// viewBase makes the directory that holds the view's mount points: in the work directory,
// unless its path has a character that overlay's lowerdir option cannot take unescaped.
func viewBase(work string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(work, "view"))
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(abs, ",:\\\n") {
		return tmpdir.Make("ext4-view")
	}
	return abs, os.Mkdir(abs, 0o700)
}

// removeViewBase removes the view's directory. The mount points are removed with rmdir,
// which fails on anything but an empty directory: were the tree still mounted there (it
// never is in this namespace), it would be left alone.
func removeViewBase(log io.Writer, base string) {
	for _, d := range []string{"tree", "view"} {
		if err := os.Remove(filepath.Join(base, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(log, "ext4: leaving %s: %v\n", base, err)
			return
		}
	}
	os.RemoveAll(base)
}

// mountTree bind-mounts the tree (with its submounts) read-only at dir, id-mapped when v
// says so. An id-mapping can only be set on a detached mount, so the bind is made with
// open_tree(OPEN_TREE_CLONE) and attached with move_mount.
func mountTree(v viewSpec, dir string) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, v.tree, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", v.tree, err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if v.idmap != nil {
		ns, err := userns(*v.idmap)
		if err != nil {
			return err
		}
		defer unix.Close(ns)
		attr.Attr_set |= unix.MOUNT_ATTR_IDMAP
		attr.Userns_fd = uint64(ns)
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		if v.idmap != nil {
			return fmt.Errorf("id-mapping the bind mount of %s: %w", v.tree, err)
		}
		return fmt.Errorf("making the bind mount of %s read-only: %w", v.tree, err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount to %s: %w", dir, err)
	}
	return nil
}

// userns returns a descriptor of a new user namespace whose only mappings are m's: an
// id-mapped mount with it shows files of m.fromUID:m.fromGID as m.toUID:m.toGID (ids without
// a mapping as the overflow id, 65534). The namespace needs a process to be made: a child
// started with ptrace stops at its execve, before any code of the new program runs, and is
// killed once its namespace is open. It must run on a locked thread (ptrace).
func userns(m idmap) (int, error) {
	attr := &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: int(m.fromUID), HostID: int(m.toUID), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: int(m.fromGID), HostID: int(m.toGID), Size: 1}},
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	p, err := os.StartProcess("/proc/self/exe", []string{"vmfsbench-userns"}, &os.ProcAttr{Sys: attr})
	if err != nil {
		return -1, fmt.Errorf("making a user namespace: %w", err)
	}
	defer func() {
		p.Kill()
		p.Wait()
	}()
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", p.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening the user namespace: %w", err)
	}
	return fd, nil
}

// makeWhiteouts makes, at dir, the overlay layer that hides v.hidden: a whiteout (a 0:0
// character device) at each hidden path, and the directories leading to them. The overlay
// shows a directory with the attributes of its top-most layer, so each of those directories,
// and dir itself for the root, gets the mode, times and owner of the tree's directory (the
// id-mapped owner when the view maps owners).
func makeWhiteouts(dir string, v viewSpec) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	dirs := map[string]bool{".": true}
	for _, rel := range v.hidden {
		parent := path.Dir(rel)
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(parent)), 0o700); err != nil {
			return err
		}
		for p := parent; p != "."; p = path.Dir(p) {
			dirs[p] = true
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
			return &os.PathError{Op: "mknod", Path: p, Err: err}
		}
	}
	for rel := range dirs {
		var st unix.Stat_t
		src := filepath.Join(v.tree, filepath.FromSlash(rel))
		if err := unix.Stat(src, &st); err != nil {
			return &os.PathError{Op: "stat", Path: src, Err: err}
		}
		if v.idmap != nil {
			st.Uid, st.Gid = v.idmap.toUID, v.idmap.toGID
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := unix.Lchown(p, int(st.Uid), int(st.Gid)); err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
		if err := unix.Chmod(p, st.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{st.Atim, st.Mtim}, 0); err != nil {
			return &os.PathError{Op: "utimes", Path: p, Err: err}
		}
	}
	return nil
}

// toolOutput runs a short host command and returns its combined output.
func toolOutput(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := proc.Command(ctx, argv...).CombinedOutput()
	return string(out), err
}

// planHandBuild is HandBuild for an image method whose build is one tool run on the tree: the
// first command of its plan's build step with src as the tree and nothing hidden.
func planHandBuild(m Method, c Config, src string) ([]string, error) {
	c.Tree, c.Hidden = src, nil
	p, err := m.Plan(c)
	if err != nil {
		return nil, err
	}
	for _, s := range p.Steps {
		if s.Kind == StepBuildImage && len(s.Commands) > 0 {
			return s.Commands[0], nil
		}
	}
	return nil, fmt.Errorf("%s: the plan has no build step", m.Name())
}
