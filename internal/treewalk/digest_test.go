package treewalk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

func TestDigesterByHand(t *testing.T) {
	d := NewDigester()
	content := "int main;\n"
	d.AddFile("a.c", int64(len(content)), sha256.Sum256([]byte(content)))
	d.AddSymlink("b", "a.c")
	d.AddFile("c/d", 0, sha256.Sum256(nil))
	if !d.Ordered() {
		t.Error("Ordered() = false for entries added in path order")
	}
	sum := sha256.Sum256([]byte(content))
	empty := sha256.Sum256(nil)
	lines := "a.c\x0010\x00" + hex.EncodeToString(sum[:]) + "\n" +
		"b\x00link\x00a.c\n" +
		"c/d\x000\x00" + hex.EncodeToString(empty[:]) + "\n"
	want := sha256.Sum256([]byte(lines))
	got := d.Summary()
	if got != (Summary{Files: 2, Symlinks: 1, Bytes: 10, Digest: hex.EncodeToString(want[:])}) {
		t.Errorf("Summary() = %+v, want 2 files, 1 symlink, 10 bytes, digest %x", got, want)
	}
}

func TestEmptyAndOrder(t *testing.T) {
	empty := sha256.Sum256(nil)
	if got := NewDigester().Summary(); got != (Summary{Digest: hex.EncodeToString(empty[:])}) {
		t.Errorf("empty Summary() = %+v", got)
	}
	d := NewDigester()
	d.AddSymlink("b", "x")
	d.AddSymlink("a", "x")
	if d.Ordered() {
		t.Error("Ordered() = true after a before b was added second")
	}
	d = NewDigester()
	d.AddSymlink("a", "x")
	d.AddSymlink("a", "x")
	if d.Ordered() {
		t.Error("Ordered() = true after a path was added twice")
	}
}

func TestHashFile(t *testing.T) {
	data := strings.Repeat("vmfsbench ", 1000)
	sum, n, err := HashFile(strings.NewReader(data), make([]byte, 7))
	if err != nil || n != int64(len(data)) || sum != sha256.Sum256([]byte(data)) {
		t.Errorf("HashFile = %x, %d, %v; want the sha256 of %d bytes", sum, n, err, len(data))
	}
}

// The Summary's JSON is part of the guest's events: its field names must not change.
func TestSummaryJSON(t *testing.T) {
	b, err := json.Marshal(Summary{Files: 1, Symlinks: 2, Bytes: 3, Digest: "ab"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"files":1,"symlinks":2,"bytes":3,"digest":"ab"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}
