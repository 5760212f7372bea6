package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

func TestPrepareCache(t *testing.T) {
	testenv.Root(t, "dropping the page cache")
	root := t.TempDir()
	data := make([]byte, 1<<20)
	for i := range 12 {
		for j := range data {
			data[j] = byte(i + j)
		}
		if err := os.WriteFile(filepath.Join(root, "f"+string(rune('a'+i))), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := tree.NewMatcher([]string{"fa"})
	ctx := context.Background()
	empty, err := prepareCache(ctx, "empty", root, m)
	if err != nil {
		t.Fatal(err)
	}
	warm, err := prepareCache(ctx, "warm", root, m)
	if err != nil {
		t.Fatal(err)
	}
	if warm.TreeKiB != 11<<10 {
		t.Errorf("warm read %d KiB, want %d (11 files of 1 MiB, one excluded)", warm.TreeKiB, 11<<10)
	}
	// prepareCache itself fails a warm-up that does not grow Cached by half the tree between
	// its drop and its end; across calls the figures are not comparable (other processes).
	if empty.CachedAfterKiB <= 0 || warm.CachedAfterKiB <= 0 {
		t.Errorf("no Cached figures: %+v %+v", empty, warm)
	}
	asis, err := prepareCache(ctx, "asis", root, m)
	if err != nil || asis.CachedBeforeKiB == 0 {
		t.Errorf("asis: %+v %v", asis, err)
	}
}

func TestDropCachesFailsClearly(t *testing.T) {
	old := dropCachesFile
	dropCachesFile = filepath.Join(t.TempDir(), "no", "such", "file")
	defer func() { dropCachesFile = old }()
	_, err := prepareCache(context.Background(), "empty", t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "cannot drop the host page cache") {
		t.Errorf("got %v", err)
	}
}

func TestOutsideTree(t *testing.T) {
	root := t.TempDir()
	tr := filepath.Join(root, "tree")
	os.MkdirAll(filepath.Join(tr, "sub"), 0o755)
	os.MkdirAll(filepath.Join(root, "out"), 0o755)
	os.Symlink(filepath.Join(tr, "sub"), filepath.Join(root, "sneaky"))
	for _, tc := range []struct {
		out string
		bad bool
	}{
		{filepath.Join(root, "out"), false},
		{filepath.Join(tr, "sub"), true},
		{tr, true},
		{root, true}, // the tree inside the run directory
		{filepath.Join(root, "sneaky"), true},
		{filepath.Join(root, "sneaky", "not", "yet"), true},
		{filepath.Join(root, "out", "not", "yet"), false},
	} {
		err := outsideTree(tc.out, tr)
		if (err != nil) != tc.bad {
			t.Errorf("outsideTree(%s) = %v, want refused=%v", tc.out, err, tc.bad)
		}
	}
}
