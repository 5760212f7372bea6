package tree

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestFingerprintDiff: a fingerprint names exactly what changed in the tree after its
// exclusions (a write that keeps the size, a chmod, a new file, a removed file, a retargeted
// symlink) and nothing for a change in an excluded directory; its digest is stable and its
// encoding reads back equal.
func TestFingerprintDiff(t *testing.T) {
	root := t.TempDir()
	for p, c := range map[string]string{"src/a.c": "int a;\n", "src/b.c": "int b;\n", "gone.txt": "x", "build/x.o": "obj", "lit.cfg": "cfg"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("src/a.c", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher([]string{"build/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	take := func() *Fingerprint {
		t.Helper()
		f, err := TakeFingerprint(ctx, root, m)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	before := take()
	if again := take(); again.Digest() != before.Digest() || !again.Diff(before).Empty() {
		t.Fatalf("two fingerprints of an unchanged tree differ: %+v", before.Diff(again))
	}
	var buf bytes.Buffer
	if _, err := before.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFingerprint(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, before) || back.Digest() != before.Digest() {
		t.Fatalf("the encoding does not read back equal")
	}

	time.Sleep(10 * time.Millisecond) // a coarse clock would otherwise keep the times
	write := func(p, c string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("src/a.c", "int z;\n") // same size
	write("build/x.o", "rebuilt")
	write("new.txt", "new")
	if err := os.Chmod(filepath.Join(root, "lit.cfg"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("src/b.c", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	after := take()
	got := before.Diff(after)
	want := Changes{Changed: []string{"link", "lit.cfg", "src/a.c"}, Added: []string{"new.txt"}, Removed: []string{"gone.txt"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff %+v, want %+v", got, want)
	}
	if after.Digest() == before.Digest() {
		t.Error("the digest did not change with the tree")
	}
	if b, w := got.Brief(2), `changed "link", changed "lit.cfg" and 3 more`; b != w {
		t.Errorf("brief %q, want %q", b, w)
	}
}
