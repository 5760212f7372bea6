package run

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// dropCachesFile is where the kernel takes requests to drop the page cache.
var dropCachesFile = "/proc/sys/vm/drop_caches"

// prepareCache puts the host page cache in the cell's state, as the seed study did: "empty"
// syncs and drops it, "warm" drops it and then reads every file of the filtered tree, "asis"
// leaves it. /proc/meminfo's Cached before and after shows it took.
func prepareCache(ctx context.Context, state, root string, m *tree.Matcher) (*results.CacheCheck, error) {
	check := &results.CacheCheck{}
	var err error
	if check.CachedBeforeKiB, err = cachedKiB(); err != nil {
		return nil, err
	}
	if state == "asis" {
		check.CachedAfterKiB = check.CachedBeforeKiB
		return check, nil
	}
	if err := dropCaches(); err != nil {
		return check, err
	}
	if state == "warm" {
		dropped, _ := cachedKiB()
		n, err := readTree(ctx, root, m)
		if err != nil {
			return check, fmt.Errorf("warming the page cache: %w", err)
		}
		check.TreeKiB = n >> 10
		after, _ := cachedKiB()
		// Allow for files the kernel evicted or that were partly cached already.
		if check.TreeKiB > 4096 && after-dropped < check.TreeKiB/2 {
			return check, fmt.Errorf("warming the page cache read %d KiB but Cached grew by only %d KiB", check.TreeKiB, after-dropped)
		}
	}
	check.CachedAfterKiB, err = cachedKiB()
	return check, err
}

// dropCaches syncs and asks the kernel to drop clean page cache, dentries and inodes.
func dropCaches() error {
	syscall.Sync()
	if err := os.WriteFile(dropCachesFile, []byte("3\n"), 0); err != nil {
		return fmt.Errorf("cannot drop the host page cache (run as root, or use cache: [asis]): %w", err)
	}
	return nil
}

// cachedKiB reads the Cached line of /proc/meminfo.
func cachedKiB() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Cached:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no Cached line")
}

// readTree reads every regular file of the filtered tree with a few readers and returns the
// bytes read.
func readTree(ctx context.Context, root string, m *tree.Matcher) (int64, error) {
	paths := make(chan string, 256)
	var (
		mu    sync.Mutex
		total int64
		first error
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for p := range paths {
				n, err := readFile(p, buf)
				mu.Lock()
				total += n
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	err := tree.Walk(ctx, root, m, func(e tree.Entry) error {
		if e.Mode.IsRegular() {
			paths <- e.Abs
		}
		return nil
	})
	close(paths)
	wg.Wait()
	if err == nil {
		err = first
	}
	return total, err
}

func readFile(p string, buf []byte) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf)
}
