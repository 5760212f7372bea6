package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/results"
)

// The shards of one run (`run --shard I/N`, e.g. the tasks of a Slurm job array) share its
// directory, on a filesystem every node mounts. Each shard writes only its own cells and
// logs (each by an atomic rename) and holds two locks while it runs:
//
//   - a shared flock on the run's lock file (vmfsbench.lock), so that no whole run or
//     --resume without --shard uses the directory meanwhile (those take it exclusively), and
//   - an exclusive flock on its own lock file, vmfsbench.lock.<I>of<N>, so that no shard runs
//     twice at once. Shards of another N running in the directory are refused: their cells
//     would overlap.
//
// run.json is written once, by the first shard to get there (WriteMetaOnce); every shard
// checks its spec against the run's spec hash, and records its own node in each cell.

// ShardLockFile is the lock file of shard sh in a run directory.
func ShardLockFile(sh Shard) string { return fmt.Sprintf("%s.%dof%d", LockFile, sh.Index, sh.Count) }

// OpenShard opens dir for shard sh of a run of specFile, locked until Close. A new shard
// (resume false) makes the directory as OpenOut does when it does not exist or is empty, and
// joins it when it is a run directory of the same spec (ErrHoldsRun is for the caller to say
// when the shard's own cells are done already: see Done). On resume, dir must be a run
// directory and specFile, when given, the run's spec.
func OpenShard(dir, specFile string, resume bool, sh Shard) (*OutDir, error) {
	if sh.Count < 1 {
		return nil, fmt.Errorf("OpenShard: no shard")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if !resume {
		if err := makeShared(dir, specFile); err != nil {
			return nil, err
		}
	} else if isRun, err := runDir(dir); err != nil {
		return nil, err
	} else if !isRun {
		return nil, fmt.Errorf("%s %w: it holds neither %s nor %s and %s/", dir, ErrNotRun, LockFile, results.SpecFile, results.CellsDir)
	}
	o := &OutDir{Dir: dir, SpecFile: specFile, Shard: sh}
	if o.shared, err = sharedLock(filepath.Join(dir, LockFile), dir); err != nil {
		return nil, err
	}
	lockFile := filepath.Join(dir, ShardLockFile(sh))
	if _, err := os.Lstat(lockFile); errors.Is(err, fs.ErrNotExist) {
		o.made = lockFile
	}
	if o.lock, err = newLock(lockFile, dir); err != nil {
		o.shared.Close()
		return nil, fmt.Errorf("shard %s: %w", sh, err)
	}
	if err := otherSplits(dir, sh); err != nil {
		o.Discard()
		return nil, err
	}
	if err := o.load(); err != nil {
		o.Discard()
		return nil, err
	}
	return o, nil
}

// Discard closes o for a caller that refuses to use it: a shard's lock file that this open
// made is removed, so that a refused shard leaves nothing in the directory.
func (o *OutDir) Discard() error {
	if o == nil || o.lock == nil {
		return nil
	}
	if o.made != "" {
		os.Remove(o.made) // under its lock: no other shard holds it
	}
	return o.Close()
}

// makeShared makes dir the run directory of specFile when it does not exist or is empty, or
// checks that it is one of the same spec. Shards starting together race here: each either
// makes it (atomically, by a rename) or finds it made.
func makeShared(dir, specFile string) error {
	data, err := os.ReadFile(specFile)
	if err != nil {
		return err
	}
	lock, err := createOut(dir, data)
	if err == nil {
		releaseLock(lock)
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	isRun, err := runDir(dir)
	if err != nil {
		return err
	}
	if !isRun {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return fmt.Errorf("%s %w: it is not empty and holds no %s, so vmfsbench writes nothing into it; choose a new or empty directory for -o", dir, ErrNotRun, LockFile)
		}
		// Empty: every shard fills it alike (the spec copy is renamed into place).
		if err := fillOut(dir, data); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
			f.WriteAt([]byte(lockHeader), 0)
		}
		f.Close()
	}
	return results.CheckSpecHash(dir, data)
}

// releaseLock empties a lock file of its pid and releases it.
func releaseLock(f *os.File) {
	f.Truncate(0)
	f.WriteAt([]byte(lockHeader), 0)
	f.Close()
}

// sharedLock takes a shared flock on the run's lock file path. A whole run holds it
// exclusively; a shard making the directory holds it so for a moment, hence the retries.
func sharedLock(path, dir string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if i == 50 {
			f.Close()
			holder := "pid unknown"
			if pid := lockPID(path); pid > 0 {
				holder = fmt.Sprintf("pid %d", pid)
			}
			return nil, fmt.Errorf("%s %w (%s, a run or --resume without --shard); wait for it to end or choose another directory", dir, ErrLocked, holder)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// otherSplits refuses to run shard sh while a shard of another count N runs in dir.
func otherSplits(dir string, sh Shard) error {
	locks, _ := filepath.Glob(filepath.Join(dir, LockFile+".*of*"))
	for _, p := range locks {
		var i, n int
		if _, err := fmt.Sscanf(filepath.Base(p)[len(LockFile)+1:], "%dof%d", &i, &n); err != nil || n == sh.Count {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s %w: shard %d/%d runs in it, and the shards of one run must agree on N; wait for it or use --shard I/%d", dir, ErrLocked, i, n, n)
		}
	}
	return nil
}

// WriteMetaOnce writes m as dir's run.json unless it exists: of the shards of a run, the
// first writes it and the others keep it. It is written whole under a temporary name and
// linked into place, which fails when another got there first. It reports whether it wrote.
func WriteMetaOnce(dir string, m *results.Meta) (bool, error) {
	path := filepath.Join(dir, results.RunMetaFile)
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+results.RunMetaFile+".tmp-")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return true, nil
}
