package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestVerifyTree(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a", "d/b"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chown(filepath.Join(root, "a"), 1001, 1002)
	res, err := verifyTree(context.Background(), root, "/proc/self")
	if err != nil {
		t.Fatal(err)
	}
	me := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	if os.Getuid() == 0 && (res.Owners["1001:1002"] != 1 || res.Owners[me] != 2) {
		t.Errorf("owners %v", res.Owners)
	}
	if res.WriteError != "" {
		t.Errorf("root not writable: %s", res.WriteError)
	}
	if res.LowerWriteError == "" {
		t.Error("a write into /proc/self succeeded")
	}
	if _, err := os.Stat(filepath.Join(root, probeName)); !os.IsNotExist(err) {
		t.Errorf("probe file left behind: %v", err)
	}
}
