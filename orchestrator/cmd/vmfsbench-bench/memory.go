package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Flat trees of the memory figure: empty files, flatDirWidth to a directory, made on tmpfs
// where a million of them take seconds (the disk needs minutes) and cost no disk space.
const (
	flatDirWidth = 1000
	flatExcluded = 100 // files in each of .git and build/stage1, which the seed rules exclude
	hugeEntries  = 1_000_000
	largeEntries = 100_000
)

// memoryFigures reports the peak memory of every host-side pass of a run, in a child
// process, over the synthetic tree and over flat trees of 100,000 and 1,000,000 entries.
func (b *bench) memoryFigures(ctx context.Context) ([]figure, error) {
	small, err := b.passes(ctx, b.root)
	if err != nil {
		return nil, err
	}
	figs := []figure{{
		name: fmt.Sprintf("orchestrator peak memory, host passes over the %dk-file tree", b.o.files/1000),
		ours: mib(small.HWMKiB),
		note: "excluded roots, tree measure, digest and tar stream, one after the other, in one child process " +
			"(VmHWM); these are all of a run's host-side passes over the tree.",
	}}
	if !b.o.huge {
		return figs, nil
	}
	base, err := flatBase()
	if err != nil {
		b.logf("skipping the 1,000,000-entry figure: %v", err)
		return figs, nil
	}
	var res [2]passesResult
	for i, n := range []int{largeEntries, hugeEntries} {
		dir, err := os.MkdirTemp(base, "vmfsbench-bench-flat.")
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		err = makeFlatTree(dir, n)
		b.logf("flat tree of %d entries in %s made in %s", n, base, time.Since(t0).Round(time.Millisecond))
		if err == nil {
			res[i], err = b.passes(ctx, dir)
		}
		removeFlatTree(dir)
		if err != nil {
			return nil, err
		}
	}
	r := float64(res[1].HWMKiB) / float64(res[0].HWMKiB)
	f := figure{
		name:  "orchestrator peak memory, 1,000,000 vs 100,000 entries",
		ours:  fmt.Sprintf("%s (%d entries)", mib(res[1].HWMKiB), res[1].Entries),
		ref:   fmt.Sprintf("%s (%d entries)", mib(res[0].HWMKiB), res[0].Entries),
		ratio: ratio(r), goal: goalFlat, met: verdictOf(r <= flatLimit),
		note: fmt.Sprintf("flat trees of empty files, %d to a directory, with .git and build/stage1 excluded, on tmpfs "+
			"(made in seconds; -huge=false skips them); the same passes as above. Ten times the entries, %.2f times the memory.",
			flatDirWidth, r),
	}
	if f.met == missed {
		f.note += fmt.Sprintf(" Missed by %.0f %%.", (r-flatLimit)*100)
	}
	measure := res[1].Seconds["measure"]
	figs = append(figs, f, figure{
		name: "tree measure (walk + lstat), 1,000,000 entries",
		ours: fmt.Sprintf("%.0fk paths/s (%s)", float64(res[1].Entries)/measure/1000, secs(measure)),
		note: fmt.Sprintf("per pass over the 1,000,000 entries: excluded roots %s, measure %s, digest %s, tar stream %s.",
			secs(res[1].Seconds["excluded-roots"]), secs(measure), secs(res[1].Seconds["digest"]), secs(res[1].Seconds["tar"])),
	})
	return figs, nil
}

// passes runs the passes child over root.
func (b *bench) passes(ctx context.Context, root string) (passesResult, error) {
	var res passesResult
	argv, env := b.childCommand(childPasses, root)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("passes over %s: %w: %s", root, err, stderr.String())
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("passes over %s: %q: %w", root, out, err)
	}
	return res, nil
}

// flatBase is where flat trees are made: /dev/shm, when it is a tmpfs with room for a
// million inodes.
func flatBase() (string, error) {
	const dir = "/dev/shm"
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", err
	}
	if st.Type != unix.TMPFS_MAGIC {
		return "", fmt.Errorf("%s is not a tmpfs", dir)
	}
	if st.Files != 0 && st.Ffree < hugeEntries*11/10 {
		return "", fmt.Errorf("%s has %d free inodes, not %d", dir, st.Ffree, hugeEntries*11/10)
	}
	if free := int64(st.Bavail) * st.Bsize; free < 2<<30 {
		return "", fmt.Errorf("%s has %d MiB free, not 2 GiB", dir, free>>20)
	}
	return dir, nil
}

// makeFlatTree makes n empty files under dir: d0000/f000 ... with flatDirWidth files to a
// directory, and flatExcluded more in each of .git and build/stage1. Two goroutines share the
// directories.
func makeFlatTree(dir string, n int) error {
	dirs := []string{".git", "build/stage1"}
	counts := []int{flatExcluded, flatExcluded}
	for i := 0; i*flatDirWidth < n; i++ {
		dirs = append(dirs, fmt.Sprintf("d%04d", i))
		counts = append(counts, min(flatDirWidth, n-i*flatDirWidth))
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(dirs) && errs[w] == nil; i += 2 {
				errs[w] = fillDir(filepath.Join(dir, dirs[i]), counts[i])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func fillDir(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	for j := range n {
		name := fmt.Sprintf("f%04d", j)
		fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return &os.PathError{Op: "create", Path: filepath.Join(dir, name), Err: err}
		}
		unix.Close(fd)
	}
	return nil
}

// removeFlatTree removes a flat tree, its top-level directories on two goroutines.
func removeFlatTree(dir string) {
	ents, _ := os.ReadDir(dir)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ents); i += 2 {
				os.RemoveAll(filepath.Join(dir, ents[i].Name()))
			}
		}()
	}
	wg.Wait()
	os.RemoveAll(dir)
}
