package tree

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Kinds of Finding.
const (
	// KindSpecial is a FIFO, socket or device node: not part of the tree digest, left out of
	// tar streams.
	KindSpecial = "special"
	// KindUnreadable is a file that cannot be read or a directory that cannot be listed.
	KindUnreadable = "unreadable"
	// KindNewline is a name holding a newline or carriage return, which line-based tool
	// inputs (mksquashfs exclusion lists, debugfs command files) cannot hold.
	KindNewline = "newline"
	// KindLongPath is a path too long for the system calls that would open it.
	KindLongPath = "long-path"
	// KindLongName is a name of NAME_MAX (255) bytes, which some image builders cannot store.
	KindLongName = "long-name"
)

// PathMax is Linux's PATH_MAX: the size of the longest path a system call takes, its
// terminating NUL included. Host and guest open tree entries by absolute path.
const PathMax = 4096

// nameMax is Linux's NAME_MAX: the longest name of one directory entry.
const nameMax = 255

// Finding is an entry of the tree that not every method carries as it is on the host.
type Finding struct {
	Rel  string // slash-separated, relative to the root
	Kind string // KindSpecial, KindUnreadable, KindNewline or KindLongPath
	// Type says what the entry is: "fifo", "socket", "character device", "block device",
	// "file", "directory", "symlink".
	Type string
	// Excluded says that the rules exclude the entry (only newline findings of excluded
	// paths, which an exclusion list must name, have it).
	Excluded bool
	// Fatal says that no method can carry the entry: the run must not start.
	Fatal bool
	// Reason says what the methods do with such an entry.
	Reason string
	// Detail is what is particular to this entry: the error, the length; may be empty.
	Detail string
}

// String names the entry in full, with its detail and the reason.
func (f Finding) String() string {
	if f.Detail != "" {
		return fmt.Sprintf("%q (%s, %s): %s", f.Rel, f.Type, f.Detail, f.Reason)
	}
	return fmt.Sprintf("%q (%s): %s", f.Rel, f.Type, f.Reason)
}

// short names the entry for a summary line: a long path is cut in the middle.
func (f Finding) short() string {
	rel := f.Rel
	if len(rel) > 80 {
		rel = rel[:36] + "..." + rel[len(rel)-36:]
	}
	if f.Detail != "" {
		return fmt.Sprintf("%q (%s, %s)", rel, f.Type, f.Detail)
	}
	return fmt.Sprintf("%q (%s)", rel, f.Type)
}

// Report is what Survey found in a tree.
type Report struct {
	Root     string // the absolute root surveyed
	Entries  int64  // entries left after the exclusions (none below a path too long)
	Longest  string // the longest relative path left, for the guest's own PATH_MAX check
	Symlinks int64  // symlinks left after the exclusions
	NonUTF8  int64  // names left that are not valid UTF-8 (libarchive's tar reading refuses them)
	Findings []Finding
}

// Survey walks the tree at root with the exclusions of m (nil: none), without reading any
// file, and reports the entries that some method cannot carry identically, before anything
// is timed:
//
//   - FIFOs, sockets and device nodes: the tree digest ignores them, and the tar streams
//     (ssh-tar, serial-tar, and ext4 when it has to build from a tar stream or a staging tree)
//     leave them out; the shares and the other images carry them.
//   - files that cannot be read and directories that cannot be listed by this process: every
//     method fails on them (Fatal).
//   - paths whose absolute host path does not fit in PATH_MAX: nothing can open them (Fatal).
//     Such a directory is not entered further.
//   - names with a newline or carriage return: a kept one cannot be named in a debugfs
//     command file, which ext4 needs when debugfs sets the owners; an excluded one cannot be
//     named in mksquashfs's exclusion list, which fails the squashfs image.
//
// Files are checked with access(2) for the effective ids, so root (CAP_DAC_OVERRIDE) reads a
// mode-000 file. Errors are those of the walk itself (the root missing, a cancelled ctx).
func Survey(ctx context.Context, root string, m *Matcher) (Report, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return Report{}, fmt.Errorf("survey %s: %w", root, err)
	}
	r := Report{Root: abs}
	add := func(e Entry, kind string, fatal bool, reason, detail string) {
		r.Findings = append(r.Findings, Finding{Rel: e.Rel, Kind: kind, Type: typeName(e.Mode), Fatal: fatal, Reason: reason, Detail: detail})
	}
	err = Walk(ctx, abs, nil, func(e Entry) error {
		isDir := e.Mode.IsDir()
		if m.Match(e.Rel, isDir) {
			// An excluded path: only exclusion lists ever name it, and only its top.
			if hasNewline(e.Rel) {
				r.Findings = append(r.Findings, Finding{Rel: e.Rel, Kind: KindNewline, Type: typeName(e.Mode), Excluded: true,
					Reason: "an excluded path holding a newline: mksquashfs's exclusion list (-ef) is read a line at a time and cannot name it, so the squashfs image cannot be built"})
			}
			if isDir {
				return fs.SkipDir
			}
			return nil
		}
		r.Entries++
		if len(e.Rel) > len(r.Longest) {
			r.Longest = e.Rel
		}
		name := e.Rel[strings.LastIndexByte(e.Rel, '/')+1:]
		if !utf8.ValidString(name) {
			r.NonUTF8++
		}
		if len(name) >= nameMax {
			add(e, KindLongName, false, fmt.Sprintf("a name of %d bytes (NAME_MAX): every file system here stores it, but not every image builder does", nameMax), "")
		}
		if hasNewline(name) {
			add(e, KindNewline, false, "a name holding a newline: debugfs command files cannot name it (nor, for a directory, what it holds), so ext4 fails if debugfs must set owners (tree.owner asked for, with several owners in the tree or no id-mapped mount)", "")
		}
		switch {
		case isDir:
			if err := unix.Faccessat(unix.AT_FDCWD, e.Abs, unix.R_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
				add(e, KindUnreadable, true, "the directory cannot be listed, so every method would fail on it", err.Error())
				return fs.SkipDir
			}
			return r.checkChildren(e)
		case e.Mode.IsRegular():
			if err := unix.Faccessat(unix.AT_FDCWD, e.Abs, unix.R_OK, unix.AT_EACCESS); err != nil {
				add(e, KindUnreadable, true, "the file cannot be read, so every method would fail on it", err.Error())
			}
		case e.Mode&fs.ModeSymlink != 0:
			r.Symlinks++
		default:
			add(e, KindSpecial, false, "not a file, directory or symlink: the tree digest ignores it and the tar streams leave it out", "")
		}
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("survey: %w", err)
	}
	return r, nil
}

// checkChildren lists a directory whose children's paths may not fit in PATH_MAX and reports
// those that do not; Walk, which opens them by absolute path, is then kept out of it.
func (r *Report) checkChildren(e Entry) error {
	if len(e.Abs)+1+nameMax < PathMax {
		return nil
	}
	f, err := os.Open(e.Abs)
	if err != nil {
		return fmt.Errorf("survey: %w", err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("survey: read directory %s: %w", e.Abs, err)
	}
	sort.Strings(names)
	skip := false
	for _, n := range names {
		if l := len(e.Abs) + 1 + len(n); l >= PathMax {
			r.Findings = append(r.Findings, Finding{Rel: e.Rel + "/" + n, Kind: KindLongPath, Type: "entry", Fatal: true,
				Reason: fmt.Sprintf("system calls take paths of at most %d bytes (PATH_MAX, with the NUL), so nothing can open it", PathMax-1),
				Detail: fmt.Sprintf("%d bytes on the host", l)})
			skip = true
		}
	}
	if skip {
		return fs.SkipDir
	}
	return nil
}

func hasNewline(s string) bool { return strings.ContainsAny(s, "\n\r") }

func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "unknown type"
}

// Err returns an error naming every entry that no method can carry, or whose path under the
// guest's mountpoint (absolute, "" to skip the check) is too long for the guest's system
// calls; nil when there is none.
func (r Report) Err(mountpoint string) error {
	var lines []string
	for _, f := range r.Findings {
		if f.Fatal {
			lines = append(lines, f.String())
		}
	}
	if mountpoint != "" && r.Longest != "" {
		if l := len(strings.TrimSuffix(mountpoint, "/")) + 1 + len(r.Longest); l >= PathMax {
			lines = append(lines, Finding{Rel: r.Longest, Type: "entry", Detail: fmt.Sprintf("%d bytes under the guest's mountpoint %s", l, mountpoint),
				Reason: fmt.Sprintf("the guest's system calls take paths of at most %d bytes (PATH_MAX, with the NUL), so the guest cannot open it", PathMax-1)}.String())
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("the tree %s has %d entries no method can carry:\n  %s", r.Root, len(lines), strings.Join(lines, "\n  "))
}

// Lines summarizes the findings for a person, one line per kind with up to three examples,
// each with its reason.
func (r Report) Lines() []string {
	var out []string
	for _, g := range r.groups(func(Finding) bool { return true }) {
		out = append(out, g.text(nil))
	}
	return out
}

// Carrier is a way of giving the guest the tree, as far as the survey needs to know it.
type Carrier interface {
	Name() string
	// Carries says whether f's entry reaches the guest as it is on the host; when not, why
	// (an empty why keeps the finding's own reason).
	Carries(f Finding) (ok bool, why string)
}

// Warnings are the findings that concern the method m, as the cell's warnings: what its
// image or stream leaves out or cannot build, and why.
func (r Report) Warnings(m Carrier) []string {
	var out []string
	concerns := func(f Finding) bool {
		ok, _ := m.Carries(f)
		return f.Fatal || !ok
	}
	for _, g := range r.groups(concerns) {
		out = append(out, g.text(m))
	}
	return out
}

type findingGroup struct {
	kind     string
	excluded bool
	items    []Finding
}

func (r Report) groups(keep func(Finding) bool) []findingGroup {
	var gs []findingGroup
	for _, f := range r.Findings {
		if !keep(f) {
			continue
		}
		i := 0
		for i < len(gs) && (gs[i].kind != f.Kind || gs[i].excluded != f.Excluded) {
			i++
		}
		if i == len(gs) {
			gs = append(gs, findingGroup{kind: f.Kind, excluded: f.Excluded})
		}
		gs[i].items = append(gs[i].items, f)
	}
	return gs
}

// text renders a group: a count, up to three examples and the reason, which for method says
// what that method does.
func (g findingGroup) text(m Carrier) string {
	var ex []string
	for i, f := range g.items {
		if i == 3 {
			ex = append(ex, fmt.Sprintf("and %d more", len(g.items)-3))
			break
		}
		ex = append(ex, f.short())
	}
	reason := g.items[0].Reason
	if m != nil {
		if _, why := m.Carries(g.items[0]); why != "" {
			reason = why
		}
	}
	what := map[string]string{KindSpecial: "special entries", KindUnreadable: "unreadable entries",
		KindNewline: "names with a newline", KindLongPath: "paths too long", KindLongName: "names of 255 bytes"}[g.kind]
	if g.excluded {
		what = "excluded " + what
	}
	return fmt.Sprintf("%d %s (%s): %s", len(g.items), what, strings.Join(ex, ", "), reason)
}
