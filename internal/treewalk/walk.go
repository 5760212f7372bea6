// Package treewalk is what the host and the guest agent share about a tree, and nothing else:
// the walk in the tree digest's order (Walk, Entry) and the digest it feeds (Digester,
// Summary, DigestTree), defined in DESIGN.md: sha256 over one line per regular file
// (`path\0size\0sha256(content)\n`) and per symlink (`path\0link\0target\n`), fed in byte
// order of the slash-separated relative path. The host (orchestrator/tree, which adds the
// gitignore exclusions) and the agent's read-all both walk and digest through it, so the
// Summaries they report compare directly. It imports nothing of the project, so the agent
// links no host code and the host none of the guest's.
package treewalk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Entry is one file system object found by Walk.
type Entry struct {
	// Rel is the path relative to the walk root: slash-separated, no leading slash, never
	// empty (the root itself is not an entry).
	Rel string
	// Abs is the path to open on the host: the absolute root joined with Rel.
	Abs string
	// Mode is the object's type and permission bits from lstat, so a symlink is reported
	// as a symlink and never followed.
	Mode fs.FileMode
	// Size is the lstat size in bytes: the content length of a regular file and the length
	// of the target of a symlink; for other types it means nothing useful.
	Size int64
	// Target is what a symlink points at, exactly as stored in the link (often relative);
	// empty for every other type.
	Target string
	// Info is the lstat result Mode and Size come from.
	Info fs.FileInfo
}

// Excluder says which entries a walk leaves out; orchestrator/tree's gitignore Matcher is
// one. A nil Excluder leaves out nothing.
type Excluder interface {
	// Match reports whether the entry at rel (a directory when isDir) is excluded.
	Match(rel string, isDir bool) bool
}

// Walk calls fn for every entry below root that ex does not exclude (the root itself is not
// visited). A directory comes before its children and excluded directories are not entered.
// Entries come in byte order of Rel, with the children of a directory sorted by name and a
// directory keyed as name+"/", so "a.c" comes before "a/b" as the tree digest requires.
//
// Symlinks are not followed (lstat semantics); root itself may be a symlink to a directory.
// Only one directory listing per level of the current path is held at a time, so memory grows
// with the widest directory and the depth, not with the size of the tree.
//
// If fn returns fs.SkipDir for a directory, Walk does not enter it; for any other entry it
// skips the rest of that entry's directory. fs.SkipAll stops the walk without an error. Any
// other error from fn stops the walk and is returned as is. Errors of Walk itself name the path
// concerned; a cancelled ctx stops the walk with ctx.Err().
func Walk(ctx context.Context, root string, ex Excluder, fn func(Entry) error) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("walk %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("walk %s: not a directory", abs)
	}
	w := walker{ctx: ctx, ex: ex, fn: fn}
	if err := w.dir(abs, ""); err != nil && err != fs.SkipAll {
		return err
	}
	return nil
}

// walker carries what every level of the recursion needs; it lives only for one Walk call.
type walker struct {
	ctx context.Context
	ex  Excluder
	fn  func(Entry) error
}

func (w *walker) dir(abs, rel string) error {
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	children, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("walk: read directory %s: %w", abs, err)
	}
	prefix := abs
	if !os.IsPathSeparator(abs[len(abs)-1]) { // only the file system root ends in one
		prefix += string(filepath.Separator)
	}
	slices.SortFunc(children, func(a, b fs.DirEntry) int {
		return compareKeys(a.Name(), a.IsDir(), b.Name(), b.IsDir())
	})
	for i, c := range children {
		children[i] = nil // let the garbage collector have what was visited
		if err := w.ctx.Err(); err != nil {
			return err
		}
		e := Entry{Rel: c.Name(), Abs: prefix + c.Name()}
		if rel != "" {
			e.Rel = rel + "/" + e.Rel
		}
		// The type from the directory listing decides the order; lstat decides the rest.
		// They only disagree if the tree changes under the walk, which the digest's order
		// check then reports.
		fi, err := c.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing: as if never there
			}
			return fmt.Errorf("walk: lstat %s: %w", e.Abs, err)
		}
		e.Mode, e.Size, e.Info = fi.Mode(), fi.Size(), fi
		isDir := e.Mode.IsDir()
		if w.ex != nil && w.ex.Match(e.Rel, isDir) {
			continue
		}
		if e.Mode&fs.ModeSymlink != 0 {
			if e.Target, err = os.Readlink(e.Abs); err != nil {
				return fmt.Errorf("walk: %w", err)
			}
		}
		err = w.fn(e)
		if err == fs.SkipDir {
			if isDir {
				continue
			}
			return nil
		}
		if err != nil {
			return err
		}
		if isDir {
			if err := w.dir(e.Abs, e.Rel); err != nil {
				return err
			}
		}
	}
	return nil
}

// compareKeys orders two names of one directory as name, or name+"/" for a directory, without
// building the keys. Names never contain a slash, so a directory's key sorts exactly where
// the paths of its contents do.
func compareKeys(a string, aDir bool, b string, bDir bool) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) == len(b):
		return 0
	case len(a) < len(b):
		if !aDir || '/' < b[n] {
			return -1
		}
		return 1
	default:
		if !bDir || '/' < a[n] {
			return 1
		}
		return -1
	}
}
