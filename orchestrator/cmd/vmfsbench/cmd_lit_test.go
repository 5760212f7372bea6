package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLitMap: lit's arguments as LLVM's build passes them: absolute paths in the tree (also
// through a symlink, and as an --option=PATH) become the guest's, relative ones and options
// stay, and a path outside the tree is named.
func TestLitMap(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "llvm-project")
	os.MkdirAll(filepath.Join(root, "build/stage2cross/bin"), 0o755)
	os.MkdirAll(filepath.Join(root, "llvm/test/Assembler"), 0o755)
	os.WriteFile(filepath.Join(root, "build/stage2cross/bin/llvm-lit"), []byte("#!/usr/bin/env python3\n"), 0o755)
	os.Symlink(root, filepath.Join(base, "link"))
	m := litMap{root: root, mountpoint: "/home/user/llvm-project"}
	for _, tc := range []struct{ in, want, outside string }{
		{"-sv", "-sv", ""},
		{"--param=build_mode=Release", "--param=build_mode=Release", ""},
		{filepath.Join(root, "build/stage2cross/test"), "/home/user/llvm-project/build/stage2cross/test", ""},
		{filepath.Join(base, "link/llvm/test/Assembler"), "/home/user/llvm-project/llvm/test/Assembler", ""},
		{"--config-prefix=" + filepath.Join(root, "llvm/test/x"), "--config-prefix=/home/user/llvm-project/llvm/test/x", ""},
		{"test/Assembler", "test/Assembler", ""},
		{"/tmp/results.xml", "/tmp/results.xml", "/tmp/results.xml"},
	} {
		got, outside := m.arg(tc.in)
		if got != tc.want || outside != tc.outside {
			t.Errorf("%s: %q (outside %q), want %q (%q)", tc.in, got, outside, tc.want, tc.outside)
		}
	}
	lit, err := findLit(m, filepath.Join(root, "build/stage2cross/test/Assembler"))
	if err != nil || lit != filepath.Join(root, "build/stage2cross/bin/llvm-lit") {
		t.Errorf("findLit: %s, %v", lit, err)
	}
	if _, err := findLit(m, filepath.Join(root, "llvm/test")); err == nil || !strings.Contains(err.Error(), "--lit") {
		t.Errorf("findLit outside a build: %v", err)
	}
	if rel, ok := m.rel(root); !ok || rel != "." {
		t.Errorf("the root: %q %v", rel, ok)
	}
}
