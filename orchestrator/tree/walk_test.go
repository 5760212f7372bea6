package tree

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// makeTree creates files (content as given), directories (a trailing slash) and symlinks
// ("name -> target") under a new temporary directory.
func makeTree(t *testing.T, spec map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range spec {
		abs := filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(name, "/")))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(abs, 0o755)
		case strings.HasPrefix(content, "-> "):
			err = os.Symlink(strings.TrimPrefix(content, "-> "), abs)
		default:
			err = os.WriteFile(abs, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func walkRels(t *testing.T, root string, m *Matcher) []string {
	t.Helper()
	var got []string
	err := Walk(context.Background(), root, m, func(e Entry) error {
		got = append(got, e.Rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWalkOrder(t *testing.T) {
	root := makeTree(t, map[string]string{
		"a.c": "x", "a-b": "x", "a0": "x", "b": "x", "B": "x", "é": "x",
		"a/b": "x", "a/a.c": "x", "a/a/": "", "a.b/c": "x", "empty/": "",
	})
	// By hand: '-' < '.' < '/' < '0', upper case before lower case, UTF-8 last; a directory
	// sorts as its name plus a slash, so the directory a/a comes after the file a/a.c.
	want := []string{"B", "a-b", "a.b", "a.b/c", "a.c", "a", "a/a.c", "a/a", "a/b", "a0", "b", "empty", "é"}
	if got := walkRels(t, root, nil); !slices.Equal(got, want) {
		t.Errorf("Walk order\n got %q\nwant %q", got, want)
	}
}

func TestWalkEntries(t *testing.T) {
	root := makeTree(t, map[string]string{
		"dir/file":  "hello",
		"dir/exe":   "#!/bin/sh\n",
		"link":      "-> dir",
		"dangling":  "-> no/such/target",
		"dir/inner": "-> ../dir/file",
	})
	if err := os.Chmod(filepath.Join(root, "dir/exe"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	err := Walk(context.Background(), root, nil, func(e Entry) error {
		got[e.Rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{
		"dangling":  {Mode: fs.ModeSymlink | 0o777, Size: 14, Target: "no/such/target"},
		"dir":       {Mode: fs.ModeDir | 0o755},
		"dir/exe":   {Mode: 0o755, Size: 10},
		"dir/file":  {Mode: 0o644, Size: 5},
		"dir/inner": {Mode: fs.ModeSymlink | 0o777, Size: 11, Target: "../dir/file"},
		"fifo":      {Mode: fs.ModeNamedPipe | 0o600},
		"link":      {Mode: fs.ModeSymlink | 0o777, Size: 3, Target: "dir"},
	}
	if len(got) != len(want) {
		t.Errorf("Walk visited %d entries, want %d (symlinks must not be followed): %v", len(got), len(want), got)
	}
	for rel, w := range want {
		g, ok := got[rel]
		if !ok {
			t.Errorf("Walk did not visit %q", rel)
			continue
		}
		if g.Abs != filepath.Join(root, filepath.FromSlash(rel)) || g.Mode != w.Mode || g.Target != w.Target ||
			(!w.Mode.IsDir() && g.Size != w.Size) {
			t.Errorf("entry %q = %+v, want mode %v size %d target %q", rel, g, w.Mode, w.Size, w.Target)
		}
	}
}

func TestWalkExclusions(t *testing.T) {
	root := makeTree(t, map[string]string{
		".git/HEAD": "x", "build/stage1/bin/clang": "x", "build/stage2/x": "x", "build/CMakeCache.txt": "x",
		"build/stage2cross/bin/clang": "x", "build/stage2cross/.git": "x", "llvm/lib/x.cpp": "x",
	})
	m, err := NewMatcher(seedRules)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build", "build/stage2cross", "build/stage2cross/bin", "build/stage2cross/bin/clang", "llvm", "llvm/lib", "llvm/lib/x.cpp"}
	if got := walkRels(t, root, m); !slices.Equal(got, want) {
		t.Errorf("Walk with the seed rules\n got %q\nwant %q", got, want)
	}
	// A rule inside an excluded directory cannot re-include: Walk never even enters it.
	m, err = NewMatcher([]string{"build/", "!build/stage2cross/bin/clang"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range walkRels(t, root, m) {
		if strings.HasPrefix(rel, "build") {
			t.Errorf("Walk visited %q inside an excluded directory", rel)
		}
	}
}

func TestWalkSkipAndErrors(t *testing.T) {
	root := makeTree(t, map[string]string{"a/x": "x", "a/y": "x", "b/x": "x", "b/y": "x", "c": "x"})
	var got []string
	err := Walk(context.Background(), root, nil, func(e Entry) error {
		got = append(got, e.Rel)
		switch e.Rel {
		case "a":
			return fs.SkipDir // do not enter a
		case "b/x":
			return fs.SkipDir // skip the rest of b
		}
		return nil
	})
	if want := []string{"a", "b", "b/x", "c"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Walk with SkipDir = %q, %v; want %q, nil", got, err, want)
	}

	got = nil
	err = Walk(context.Background(), root, nil, func(e Entry) error {
		got = append(got, e.Rel)
		if e.Rel == "a/x" {
			return fs.SkipAll
		}
		return nil
	})
	if want := []string{"a", "a/x"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Walk with SkipAll = %q, %v; want %q, nil", got, err, want)
	}

	errStop := errors.New("stop")
	if err := Walk(context.Background(), root, nil, func(Entry) error { return errStop }); err != errStop {
		t.Errorf("Walk returned %v, want the callback's error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Walk(ctx, root, nil, func(Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a cancelled context = %v, want context.Canceled", err)
	}

	missing := filepath.Join(root, "missing")
	if err := Walk(context.Background(), missing, nil, func(Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Walk of a missing root = %v, want an error naming %s", err, missing)
	}
	file := filepath.Join(root, "c")
	if err := Walk(context.Background(), file, nil, func(Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Walk of a file = %v, want an error naming %s", err, file)
	}
}

func TestWalkRootSymlink(t *testing.T) {
	root := makeTree(t, map[string]string{"real/x": "x", "alias": "-> real"})
	if got, want := walkRels(t, filepath.Join(root, "alias"), nil), []string{"x"}; !slices.Equal(got, want) {
		t.Errorf("Walk through a symlinked root = %q, want %q", got, want)
	}
}
