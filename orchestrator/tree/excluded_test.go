package tree

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExcludedRoots(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{".git/HEAD", "build/stage1/bin/clang", "build/stage2/x", "build/stage2cross/bin/lit",
		"llvm/a.o", "llvm/a.cpp", "llvm/sub/b.o"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMatcher([]string{".git", "build/*", "!build/stage2cross", "*.o"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExcludedRoots(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	want := ".git build/stage1 build/stage2 llvm/a.o llvm/sub/b.o"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if got, _ := ExcludedRoots(context.Background(), root, nil); len(got) != 0 {
		t.Errorf("nil matcher excluded %v", got)
	}
}
