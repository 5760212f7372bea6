package run

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/results"
)

// LockFile marks a directory as a vmfsbench run directory and is what a run locks (flock)
// while it uses the directory. While locked it holds the holder's pid.
const LockFile = "vmfsbench.lock"

// lockHeader starts every lock file; a directory holding it is a run directory.
const lockHeader = "vmfsbench run directory\n"

// Errors of OpenOut, for errors.Is.
var (
	// ErrHoldsRun: the directory holds finished cells of a run; it is continued with
	// --resume, never overwritten.
	ErrHoldsRun = errors.New("already holds a run")
	// ErrLocked: another run or resume uses the directory now.
	ErrLocked = errors.New("is in use by another vmfsbench")
	// ErrNotRun: the directory is not empty and is not a vmfsbench run directory.
	ErrNotRun = errors.New("is not a vmfsbench run directory")
)

// OutDir is a run directory opened, and locked, by OpenOut. The lock lasts until Close.
type OutDir struct {
	Dir string // absolute
	// SpecFile is the spec the run uses: the one given to OpenOut, or on resume without one
	// the spec file the run started from (run.json) or else the directory's own spec.yaml.
	SpecFile string
	// Meta is the directory's run.json when it has one, on resume; nil otherwise.
	Meta *results.Meta
	// Done holds the finished cells, by ID, on resume; empty for a new run.
	Done map[string]*results.Cell
	// Shard is the shard that opened the directory (OpenShard); zero for a whole run.
	Shard  Shard
	lock   *os.File // the run's lock, or the shard's
	shared *os.File // a shard's shared lock on the run's lock file
	made   string   // the shard's lock file, when this open made it (Discard removes it)
}

// OpenOut opens dir as the run directory of a run of specFile (resume false) or of a
// resumed run (resume true), and locks it until Close: of two runs wanting one directory,
// the second gets ErrLocked, with the first's pid.
//
// For a new run, a directory that does not exist or is empty is made into a run directory
// (lock file, spec.yaml and cells/ appear together: a missing directory is made under a
// temporary name and renamed). A run directory with no finished cell (an early exit left
// it) is taken again: its spec.yaml is replaced. One with finished cells is refused
// (ErrHoldsRun), and so is a non-empty directory that is not a run directory (ErrNotRun),
// in which nothing is written.
//
// On resume, dir must be a run directory; a spec file given must be the one the run started
// with. A directory without run.json (the run stopped before writing it) resumes too.
func OpenOut(dir, specFile string, resume bool) (*OutDir, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if resume {
		return resumeOut(dir, specFile)
	}
	data, err := os.ReadFile(specFile)
	if err != nil {
		return nil, err
	}
	o := &OutDir{Dir: dir, SpecFile: specFile, Done: map[string]*results.Cell{}}
	for range 3 { // a directory made by another run between the checks: look again
		o.lock, err = createOut(dir, data)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
		o.lock, err = takeOut(dir, data)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return o, nil
}

// Close releases the lock. The lock file stays: it marks the directory as a run directory.
func (o *OutDir) Close() error {
	if o == nil || o.lock == nil {
		return nil
	}
	if o.shared != nil {
		o.shared.Close() // the run's lock file keeps what it holds: other shards share it
		o.shared = nil
	}
	o.lock.Truncate(0)
	o.lock.WriteAt([]byte(lockHeader), 0)
	err := o.lock.Close() // closing the only descriptor releases the flock
	o.lock = nil
	return err
}

// createOut makes dir, which must not exist, as a run directory under a temporary name in
// its parent and renames it into place, locked. It fails with fs.ErrExist when dir exists.
func createOut(dir string, spec []byte) (*os.File, error) {
	if _, err := os.Lstat(dir); err == nil {
		return nil, fs.ErrExist
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	lock, err := newLock(filepath.Join(tmp, LockFile), dir)
	if err != nil {
		return nil, err
	}
	if err := fillOut(tmp, spec); err != nil {
		lock.Close()
		return nil, err
	}
	// rename(2) refuses a directory that appeared meanwhile with something in it; an empty
	// one it replaces, which is what taking an empty directory means.
	if err := os.Rename(tmp, dir); err != nil {
		lock.Close()
		if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
			return nil, fs.ErrExist
		}
		return nil, err
	}
	return lock, nil
}

// takeOut takes the existing directory dir for a new run: an empty directory, or a run
// directory without finished cells. It fails with fs.ErrNotExist when dir is gone.
func takeOut(dir string, spec []byte) (*os.File, error) {
	isRun, err := runDir(dir)
	if err != nil {
		return nil, err
	}
	if !isRun {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("%s %w: it is not empty and holds no %s, so vmfsbench writes nothing into it; choose a new or empty directory for -o", dir, ErrNotRun, LockFile)
		}
	}
	lock, err := newLock(filepath.Join(dir, LockFile), dir)
	if err != nil {
		return nil, err
	}
	if err := renew(dir, spec); err != nil {
		lock.Close()
		return nil, err
	}
	return lock, nil
}

// renew makes the locked run directory dir a new run of spec, unless it holds finished cells
// (ErrHoldsRun): an early exit left it, or it is empty, and a run with no result yet starts
// afresh.
func renew(dir string, spec []byte) error {
	done, err := results.FinishedCells(dir)
	if err != nil {
		return err
	}
	if len(done) > 0 {
		return fmt.Errorf("%s %w (%d finished cells); choose another -o, or continue it with --resume %s", dir, ErrHoldsRun, len(done), dir)
	}
	os.Remove(filepath.Join(dir, results.RunMetaFile))
	os.Remove(filepath.Join(dir, FingerprintFile))
	return fillOut(dir, spec)
}

// Renew makes o, a run directory opened to resume, a new run of specFile as OpenOut does for
// a new run: refused (ErrHoldsRun) when it holds finished cells, else its spec.yaml replaced
// and its run.json removed. Opening to resume first lets a caller look at the directory under
// its lock before anything in it changes (vmfsbench slurm: no job of it still queued).
func (o *OutDir) Renew(specFile string) error {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	if err := renew(o.Dir, data); err != nil {
		return err
	}
	o.SpecFile, o.Meta, o.Done = specFile, nil, map[string]*results.Cell{}
	return nil
}

// resumeOut opens the run directory dir to resume it.
func resumeOut(dir, specFile string) (*OutDir, error) {
	isRun, err := runDir(dir)
	if err != nil {
		return nil, err
	}
	if !isRun {
		return nil, fmt.Errorf("%s %w: it holds neither %s nor %s and %s/", dir, ErrNotRun, LockFile, results.SpecFile, results.CellsDir)
	}
	o := &OutDir{Dir: dir, SpecFile: specFile}
	if o.lock, err = newLock(filepath.Join(dir, LockFile), dir); err != nil {
		return nil, err
	}
	if err := o.load(); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// load reads what a resumed run needs from its locked directory: run.json, the spec (the
// one given, else the run's), checked against the run's spec hash, and the finished cells.
func (o *OutDir) load() error {
	var err error
	if o.Meta, err = results.ReadRunMeta(o.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if o.SpecFile == "" {
		o.SpecFile = filepath.Join(o.Dir, results.SpecFile)
		if o.Meta != nil && o.Meta.SpecFile != "" {
			if _, err := os.Stat(o.Meta.SpecFile); err == nil {
				o.SpecFile = o.Meta.SpecFile // relative paths in it resolve as when the run started
			}
		}
	}
	data, err := os.ReadFile(o.SpecFile)
	if err != nil {
		return fmt.Errorf("resume %s: the run's spec: %w", o.Dir, err)
	}
	if err := results.CheckSpecHash(o.Dir, data); err != nil {
		return err
	}
	o.Done, err = results.FinishedCells(o.Dir)
	return err
}

// runDir reports whether dir is a run directory: it holds the lock file, or (made before
// there was one) run.json, or spec.yaml and cells/.
func runDir(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s is not a directory", dir)
	}
	exists := func(name string) bool { _, err := os.Lstat(filepath.Join(dir, name)); return err == nil }
	if exists(LockFile) || exists(results.RunMetaFile) {
		return true, nil
	}
	cells, err := os.Stat(filepath.Join(dir, results.CellsDir))
	return exists(results.SpecFile) && err == nil && cells.IsDir(), nil
}

// fillOut writes the spec copy and the cells directory of a new run into dir.
func fillOut(dir string, spec []byte) error {
	if err := os.Mkdir(filepath.Join(dir, results.CellsDir), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return results.WriteFileAtomic(filepath.Join(dir, results.SpecFile), spec)
}

// newLock opens (creating) the lock file path of the run directory dir, takes its flock
// without waiting and writes this process's pid into it. A lock held elsewhere is ErrLocked,
// naming the holder's pid.
func newLock(path, dir string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := "pid unknown"
			if pid := lockPID(path); pid > 0 {
				holder = "pid " + strconv.Itoa(pid)
			}
			if shards, _ := filepath.Glob(filepath.Join(filepath.Dir(path), LockFile+".*of*")); len(shards) > 0 && path == filepath.Join(dir, LockFile) {
				holder += ", or shards of a run"
			}
			return nil, fmt.Errorf("%s %w (%s, a run or --resume); wait for it to end or choose another directory", dir, ErrLocked, holder)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	content := fmt.Sprintf("%spid %d\n", lockHeader, os.Getpid())
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(content), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// lockPID is the pid written in a lock file, or 0.
func lockPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(data, []byte("pid "))
	if !ok {
		return 0
	}
	pid, _ := strconv.Atoi(string(bytes.TrimSpace(rest)))
	return pid
}
