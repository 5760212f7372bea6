package method

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// TestImageBuildTimes measures, on the 20,000-file / 300 MiB synthetic tree with the seed's
// exclusions and an owner of 1001:1001 and a warm page cache, how long each image method's
// build step takes, each ext4 route, and the bare tools on a filtered copy of the tree. It
// takes about two minutes and writes ~2 GB: `make bench` runs it.
func BenchmarkImageBuildTimes(b *testing.B) {
	t := b
	needTool(t, "mksquashfs", "mkfs.erofs", "mkfs.ext4", "debugfs")
	needRoot(t)
	ctx := context.Background()
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := synthetic.Ensure(ctx, cache, synthetic.Tree{Files: 20000, Bytes: 300 << 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := tree.NewMatcher([]string{".git", "build/*", "!build/stage2cross"})
	hidden, _ := tree.ExcludedRoots(ctx, root, m)
	owner := &tree.Owner{UID: 1001, GID: 1001}
	if _, err := tree.DigestTree(ctx, root, m); err != nil { // warm the page cache
		t.Fatal(err)
	}
	scratch := t.TempDir()
	const runs = 3
	var report []string
	measure := func(name string, fn func(work string) error) {
		var times []time.Duration
		for i := 0; i < runs; i++ {
			work := filepath.Join(scratch, fmt.Sprintf("w%d", i))
			if err := os.Mkdir(work, 0o755); err != nil {
				t.Fatal(err)
			}
			unix.Sync()
			t0 := time.Now()
			if err := fn(work); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			times = append(times, time.Since(t0))
			removeStaging(work)
		}
		slices.Sort(times)
		line := fmt.Sprintf("%-58s median %6.2fs  (%s)", name, times[runs/2].Seconds(), strings.Trim(fmt.Sprint(times), "[]"))
		report = append(report, line)
		t.Log(line)
	}
	sh := func(script string) func(string) error {
		return func(work string) error {
			out, err := exec.Command("sh", "-ec", script, "sh", root, work, strings.Join(hidden, " ")).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		}
	}
	cfg := func(work string, params Params) Config {
		return Config{Params: params, Tree: root, Work: work, Hidden: hidden, Exclude: []string{".git"}, Owner: owner}
	}
	env := Env{Log: io.Discard, Matcher: m}
	measure("walk: MeasureTree", func(string) error { _, err := MeasureTree(ctx, root, m); return err })
	steps := func(meth Method, params Params) func(string) error {
		return func(work string) error {
			c := cfg(work, params)
			for _, s := range planOf(meth, c).Steps {
				if _, err := runStep(ctx, s, env); err != nil {
					return err
				}
			}
			return nil
		}
	}
	measure("squashfs (none) build step", steps(Squashfs{}, Params{"compression": "none", "block_size": int64(131072)}))
	measure("squashfs (none) build step, upper: disk", steps(Squashfs{}, Params{"compression": "none", "block_size": int64(131072), "upper": "disk"}))
	measure("erofs (none) build step", steps(Erofs{}, Params{"compression": "none"}))
	measure("ext4 build step (auto route)", steps(Ext4{}, Params{"size": "auto"}))
	for _, route := range []string{RouteView, RouteViewUnmapped, RouteStaging} {
		measure("ext4 route "+route, func(work string) error {
			c := cfg(work, Params{"size": "auto"})
			return buildExt4Route(ctx, ext4Argv(c), c, env, route)
		})
	}
	measure("ext4 route (a): cp -a, rm excluded, chown -R, mkfs.ext4 -d", sh(`cp -a "$1" "$2/s"; for h in $3; do rm -rf "$2/s/$h"; done
		chown -R 1001:1001 "$2/s"; mkfs.ext4 -q -F -O ^has_journal -m 0 -E lazy_itable_init=0 -d "$2/s" "$2/i.ext4" 300M`))
	// The bare tools on a filtered copy made once, not timed.
	filtered := filepath.Join(scratch, "filtered")
	if err := sh(`cp -a "$1" "$2/filtered"; for h in $3; do rm -rf "$2/filtered/$h"; done`)(scratch); err != nil {
		t.Fatal(err)
	}
	raw := func(script string) func(string) error {
		return func(work string) error {
			out, err := exec.Command("sh", "-ec", script, "sh", filtered, work).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		}
	}
	measure("bare mksquashfs -noI -noD -noF -noX on the filtered copy", raw(`mksquashfs "$1" "$2/i.sqfs" -quiet -no-progress -noI -noId -noD -noF -noX`))
	measure("bare mkfs.erofs on the filtered copy", raw(`mkfs.erofs --quiet "$2/i.erofs" "$1"`))
	measure("bare mkfs.ext4 -d on the filtered copy", raw(`mkfs.ext4 -q -F -O ^has_journal -d "$1" "$2/i.ext4" 300M`))
	t.Logf("summary (warm page cache, %d runs each):\n%s", runs, strings.Join(report, "\n"))
}
