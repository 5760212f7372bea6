package synthetic

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// smallSynthetic keeps the tests quick: deleting big trees is slow on file systems mounted
// with online discard.
var smallSynthetic = Tree{Files: 1500, Bytes: 6 << 20, Seed: 1}

func TestSyntheticKey(t *testing.T) {
	cases := []struct {
		s    Tree
		want string
	}{
		{Tree{Files: 20000, Bytes: 300 << 20, Seed: 1}, `^f20000-b300MiB-s1-[0-9a-f]{8}$`},
		{Tree{Files: 100000, Bytes: 2 << 30, Seed: 42}, `^f100000-b2GiB-s42-[0-9a-f]{8}$`},
		{Tree{Files: 500, Bytes: 100000, Seed: -3}, `^f500-b100000-s-3-[0-9a-f]{8}$`},
		{Tree{Files: 500, Bytes: 3 << 10, Seed: 0}, `^f500-b3KiB-s0-[0-9a-f]{8}$`},
	}
	keys := map[string]bool{}
	for _, c := range cases {
		k := c.s.Key()
		if !regexp.MustCompile(c.want).MatchString(k) {
			t.Errorf("%+v.Key() = %q, want %s", c.s, k, c.want)
		}
		if k != c.s.Key() {
			t.Errorf("%+v.Key() is not stable", c.s)
		}
		keys[k] = true
	}
	// Parameters that print alike still get different keys through the hash.
	if a, b := (Tree{Files: 500, Bytes: 1 << 20, Seed: 1}).Key(), (Tree{Files: 500, Bytes: 1 << 20, Seed: 2}).Key(); a[len(a)-8:] == b[len(b)-8:] {
		t.Errorf("keys %q and %q share their hash", a, b)
	}
}

func TestSyntheticValidate(t *testing.T) {
	for _, s := range []Tree{{Files: 10, Bytes: 1 << 20}, {Files: 1000, Bytes: 1000}, {Files: 1000, Bytes: 1 << 41}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v.Validate() accepted it", s)
		}
		if _, err := Ensure(context.Background(), t.TempDir(), s); err == nil {
			t.Errorf("Ensure(%+v) accepted it", s)
		}
	}
	if err := smallSynthetic.Validate(); err != nil {
		t.Error(err)
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	ctx := context.Background()
	digest := func(s Tree) tree.Summary {
		t.Helper()
		dir, err := Ensure(ctx, t.TempDir(), s)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := tree.DigestTree(ctx, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	a, b := digest(smallSynthetic), digest(smallSynthetic)
	if a != b {
		t.Errorf("same parameters, different trees:\n%+v\n%+v", a, b)
	}
	other := smallSynthetic
	other.Seed = 2
	if c := digest(other); c.Digest == a.Digest {
		t.Errorf("seeds 1 and 2 give the same digest %s", a.Digest)
	}
}

func TestSyntheticShape(t *testing.T) {
	ctx := context.Background()
	dir, err := Ensure(ctx, t.TempDir(), smallSynthetic)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := tree.DigestTree(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The generator hits both targets exactly; the contract only promises a few percent.
	if sum.Files != int64(smallSynthetic.Files) || sum.Bytes != smallSynthetic.Bytes || sum.Symlinks != 7 {
		t.Errorf("DigestTree = %+v, want %d files, %d bytes, 7 symlinks", sum, smallSynthetic.Files, smallSynthetic.Bytes)
	}

	// Every entry: fixed time, the expected modes, and Walk agrees with filepath.WalkDir.
	var walked, emptyDirs int
	var bigBin int64
	err = tree.Walk(ctx, dir, nil, func(e tree.Entry) error {
		walked++
		fi, err := os.Lstat(e.Abs)
		if err != nil {
			return err
		}
		if !fi.ModTime().Equal(syntheticTime) {
			t.Errorf("%s: mtime %v, want %v", e.Rel, fi.ModTime(), syntheticTime)
		}
		switch perm := e.Mode.Perm(); {
		case e.Mode.IsDir():
			if perm != 0o755 {
				t.Errorf("%s: directory mode %v", e.Rel, e.Mode)
			}
			if ents, _ := os.ReadDir(e.Abs); len(ents) == 0 {
				emptyDirs++
			}
		case e.Mode.IsRegular():
			if perm != 0o644 && perm != 0o755 {
				t.Errorf("%s: file mode %v", e.Rel, e.Mode)
			}
			if strings.HasPrefix(e.Rel, "build/stage2cross/bin/") {
				bigBin += e.Size
			}
		case e.Mode&fs.ModeSymlink != 0:
			if strings.HasPrefix(e.Target, "/") {
				t.Errorf("%s: absolute symlink target %q", e.Rel, e.Target)
			}
			if _, err := os.Stat(e.Abs); err != nil {
				t.Errorf("%s -> %s: dangling: %v", e.Rel, e.Target, err)
			}
		default:
			t.Errorf("%s: unexpected type %v", e.Rel, e.Mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var std int
	filepath.WalkDir(dir, func(string, fs.DirEntry, error) error { std++; return nil })
	if walked != std-1 {
		t.Errorf("Walk visited %d entries, filepath.WalkDir %d (with the root)", walked, std)
	}
	if emptyDirs != 1 {
		t.Errorf("%d empty directories, want 1", emptyDirs)
	}
	if share := float64(bigBin) / float64(smallSynthetic.Bytes); share < 0.25 {
		t.Errorf("build/stage2cross/bin holds %.0f%% of the bytes, want a big share", 100*share)
	}
	for _, rel := range []string{".", "llvm/lib/Target/RISCV", "llvm/test/CodeGen/RISCV", "clang/lib/Sema", "lld/ELF",
		".git/objects/pack", "build/stage1/bin", "build/stage2/lib", "build/stage2cross/test", "build/stage2cross/projects"} {
		fi, err := os.Lstat(filepath.Join(dir, rel))
		if err != nil || !fi.IsDir() {
			t.Errorf("%s: not a directory (%v)", rel, err)
		} else if !fi.ModTime().Equal(syntheticTime) {
			t.Errorf("%s: mtime %v, want %v", rel, fi.ModTime(), syntheticTime)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "build/stage2cross/bin/clang++")); err != nil || target != "clang" {
		t.Errorf("clang++ -> %q, %v; want clang", target, err)
	}
}

func TestSyntheticSeedExclusions(t *testing.T) {
	ctx := context.Background()
	dir, err := Ensure(ctx, t.TempDir(), smallSynthetic)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tree.NewMatcher([]string{".git", "build/*", "!build/stage2cross"}) // the seed study's
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	err = tree.Walk(ctx, dir, m, func(e tree.Entry) error {
		top, rest, _ := strings.Cut(e.Rel, "/")
		if top == "build" && rest != "" {
			top += "/" + strings.SplitN(rest, "/", 2)[0]
		}
		seen[top]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{".git", "build/stage1", "build/stage2", "build/CMakeCache.txt"} {
		if seen[gone] != 0 {
			t.Errorf("%s: %d entries survived the seed exclusions", gone, seen[gone])
		}
	}
	for _, kept := range []string{"llvm", "clang", "lld", "build", "build/stage2cross"} {
		if seen[kept] == 0 {
			t.Errorf("%s: nothing left after the seed exclusions", kept)
		}
	}
	if seen["build/stage2cross"] < 100 {
		t.Errorf("build/stage2cross: only %d entries kept", seen["build/stage2cross"])
	}
}

func TestEnsureReuseAndRace(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	var wg sync.WaitGroup
	paths := make([]string, 3)
	errs := make([]error, 3)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = Ensure(ctx, cache, smallSynthetic)
		}()
	}
	wg.Wait()
	want := filepath.Join(cache, "trees", smallSynthetic.Key())
	for i := range paths {
		if errs[i] != nil || paths[i] != want {
			t.Fatalf("concurrent Ensure %d = %q, %v; want %q", i, paths[i], errs[i], want)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(cache, "trees")); err != nil || len(ents) != 1 {
		t.Errorf("trees/ holds %d entries (%v), want only the tree", len(ents), err)
	}
	if _, err := tree.DigestTree(ctx, want, nil); err != nil {
		t.Errorf("tree after the race: %v", err)
	}

	// A tree that is there is used as it is, not generated again.
	sentinel := filepath.Join(want, "sentinel")
	if err := os.WriteFile(sentinel, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if p, err := Ensure(ctx, cache, smallSynthetic); err != nil || p != want {
		t.Fatalf("Ensure again = %q, %v", p, err)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Errorf("the cached tree was regenerated: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("reusing the cached tree took %v", d)
	}
}

func TestEnsureCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cache := t.TempDir()
	if _, err := Ensure(ctx, cache, smallSynthetic); !errors.Is(err, context.Canceled) {
		t.Errorf("Ensure with a cancelled context = %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(cache, "trees")); len(ents) != 0 {
		t.Errorf("a cancelled generation left %d entries in trees/", len(ents))
	}
}

func TestEnsureNotADirectory(t *testing.T) {
	cache := t.TempDir()
	dest := filepath.Join(cache, "trees", smallSynthetic.Key())
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dest, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(context.Background(), cache, smallSynthetic); err == nil || !strings.Contains(err.Error(), dest) {
		t.Errorf("Ensure over a file = %v, want an error naming %s", err, dest)
	}
}

// TestSyntheticUmask checks that modes do not depend on the umask of the process.
func TestSyntheticUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir, err := Ensure(context.Background(), t.TempDir(), Tree{Files: 500, Bytes: 1 << 20, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{".", "llvm", "README.md", "build/stage2cross/bin/clang-19"} {
		fi, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o055 != 0o044 && perm&0o055 != 0o055 {
			t.Errorf("%s: mode %v under umask 077", rel, fi.Mode())
		}
	}
}
