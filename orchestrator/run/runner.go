// Package run executes a plan: for each cell it prepares the host page cache, does the
// method's host steps, boots the guest with the cell's initramfs, follows the agent's events
// through mount and workload, tears everything down and records the phases.
package run

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// Runner runs planned cells into one run directory. It reads nothing of the spec or of the
// host probe's plan.Host: every value a cell needs is in the cell; what it keeps of the probe
// is the run's tree, which every cell prepares the page cache of and is checked against.
type Runner struct {
	Dirs     plan.Dirs // the run's directories, which the cells were planned with
	Tree     Tree      // the run's tree
	Progress *Progress // nil for none
	// Meta is the run's metadata, repeated in every cell's CSV row.
	Meta    *results.Meta
	treeSum string // Tree.AtStart's digest, once computed
	// hangFirstBoot, a test hook, starts each cell's first VM paused (-S), so that its agent
	// never speaks, and gives up on it after this long instead of the boot timeout.
	hangFirstBoot time.Duration
	// silence, a test hook, replaces the cells' Limits.BootSilence.
	silence time.Duration
	// execIO is set while Exec runs its cell.
	execIO *ExecIO
}

// Tree is the run's tree as the host probe found it.
type Tree struct {
	Path    string        // the host tree
	Matcher *tree.Matcher // its exclusions
	// AtStart is the tree's fingerprint when the run started; every cell is checked against
	// it (treecheck.go). nil checks nothing.
	AtStart *tree.Fingerprint
	Want    *tree.Summary // the host's digest of the filtered tree, when known
}

// TreeOf is the tree the probe found, as a run checks its cells against it.
func TreeOf(p *probe.Result) Tree {
	return Tree{Path: p.Host.Tree, Matcher: p.Matcher, AtStart: p.TreeAtStart, Want: p.Want}
}

// NewRunner runs cells planned with the directories d on tree t, reporting to progress (nil
// for none).
func NewRunner(t Tree, d plan.Dirs, progress *Progress) *Runner {
	return &Runner{Tree: t, Dirs: d, Progress: progress}
}

// NewDirs makes dir, which must not overlap the tree at treePath, a run's directory, and
// makes the run's short directory for unix sockets (the Runner's Close removes it). Cells
// planned with them name the run's real paths.
func NewDirs(dir, treePath string) (plan.Dirs, error) {
	if fi, err := os.Stat(treePath); err == nil && fi.IsDir() {
		if err := outsideTree(dir, treePath); err != nil {
			return plan.Dirs{}, err
		}
	}
	sockets, err := MkdirTemp()
	if err != nil {
		return plan.Dirs{}, err
	}
	return plan.Dirs{Run: dir, Sockets: sockets, HostPort: freePort}, nil
}

// CheckOut refuses a run directory that overlaps a tree given by path, before anything is
// written. Synthetic trees live in vmfsbench's cache and need no check.
func CheckOut(out string, e *spec.Experiment) error {
	if e.Tree.Path == "" {
		return nil
	}
	return outsideTree(out, e.Tree.Path)
}

// realPath resolves symlinks in p, which need not exist yet: the longest existing prefix is
// resolved and the rest appended.
func realPath(p string) (string, error) {
	p = filepath.Clean(p)
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// outsideTree refuses a run directory inside the tree (or the tree inside it): vmfsbench never
// writes into the user's tree, and a run directory in it would also be measured.
func outsideTree(out, treeDir string) error {
	o, err := realPath(out)
	if err != nil {
		return err
	}
	t, err := filepath.EvalSymlinks(treeDir)
	if err != nil {
		return err
	}
	inside := func(a, b string) bool { // a is b or below it
		rel, err := filepath.Rel(b, a)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
	}
	if inside(o, t) || inside(t, o) {
		return fmt.Errorf("the run directory %s and the tree %s overlap: vmfsbench never writes into the tree; choose another -o", out, treeDir)
	}
	return nil
}

// freePort asks the kernel for a free loopback TCP port. QEMU binds it moments later; the
// window in which another process could take it is small and a collision fails the boot
// with a clear QEMU error.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Close ends the progress display and removes the run's socket directory.
func (r *Runner) Close() error {
	r.Progress.Close()
	if r.Dirs.Sockets == plan.SocketsPlaceholder || r.Dirs.Sockets == "" {
		return nil
	}
	return os.RemoveAll(r.Dirs.Sockets)
}

func (r *Runner) progressf(format string, args ...any) { r.Progress.Logf(format, args...) }
