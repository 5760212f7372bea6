package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/internal/treewalk"
	"golang.org/x/sys/unix"
)

// makeTree writes files (rel -> content) and symlinks (rel -> target) under a new directory.
func makeTree(t testing.TB, files map[string]string, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for rel, target := range links {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// handDigest computes the digest of DESIGN.md from the maps directly, without walking.
func handDigest(files, links map[string]string) protocol.Result {
	type line struct{ path, text string }
	var lines []line
	var res protocol.Result
	for rel, c := range files {
		sum := sha256.Sum256([]byte(c))
		lines = append(lines, line{rel, fmt.Sprintf("%s\x00%d\x00%x\n", rel, len(c), sum)})
		res.Files++
		res.Bytes += int64(len(c))
	}
	for rel, target := range links {
		lines = append(lines, line{rel, rel + "\x00link\x00" + target + "\n"})
		res.Symlinks++
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].path < lines[j].path })
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l.text))
	}
	res.Digest = fmt.Sprintf("%x", h.Sum(nil))
	return res
}

// trickyTree has names whose directory-by-directory order differs from byte order, empty
// files, a file larger than a read buffer, and symlinks (dangling and to a directory).
func trickyTree() (files, links map[string]string) {
	big := strings.Repeat("0123456789abcdef", 3*readBufSize/16+7)
	files = map[string]string{
		"a.txt":            "a dot txt\n",
		"a/b":              "inside a\n",
		"a/c/d":            "deeper\n",
		"a-b":              "dash\n",
		"a0":               "zero\n",
		"empty":            "",
		"big.bin":          big,
		"Z/upper":          "upper case sorts first\n",
		"dir with space/f": "space\n",
		"ü/utf8":           "non-ascii name\n",
	}
	links = map[string]string{
		"link-to-a":   "a",
		"a/dangling":  "../nowhere",
		"a/c/abs":     "/etc/hostname",
		"a.txt-alias": "a.txt",
	}
	return files, links
}

func TestReadAll(t *testing.T) {
	files, links := trickyTree()
	root := makeTree(t, files, links)
	// Not part of the digest: an empty directory and a FIFO.
	if err := os.Mkdir(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "a", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := handDigest(files, links)
	host, err := treewalk.DigestTree(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != want.Summary {
		t.Fatalf("treewalk.DigestTree %+v and the hand-computed digest %+v disagree", host, want.Summary)
	}
	for _, readers := range []int{0, 1, 2, 8, 64} {
		t.Run(fmt.Sprintf("readers=%d", readers), func(t *testing.T) {
			got, err := readAll(context.Background(), root, readers)
			if err != nil {
				t.Fatal(err)
			}
			if got.Summary != want.Summary {
				t.Errorf("got  %+v\nwant %+v", got.Summary, want.Summary)
			}
			if got.Seconds <= 0 {
				t.Errorf("seconds %v, want > 0", got.Seconds)
			}
		})
	}
}

func TestReadAllRandomTree(t *testing.T) {
	// Many files, so that the readers really finish out of order.
	r := rand.New(rand.NewPCG(1, 2))
	files := map[string]string{}
	for i := range 500 {
		rel := fmt.Sprintf("d%d/s%d/f%03d", r.IntN(7), r.IntN(5), i)
		if r.IntN(4) == 0 {
			rel = fmt.Sprintf("d%d.f%d", r.IntN(7), i)
		}
		files[rel] = strings.Repeat(string(rune('a'+r.IntN(26))), r.IntN(70000))
	}
	root := makeTree(t, files, nil)
	got, err := readAll(context.Background(), root, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := handDigest(files, nil); got.Summary != want.Summary {
		t.Errorf("got  %+v\nwant %+v", got.Summary, want.Summary)
	}
}

func TestReadAllErrors(t *testing.T) {
	files, links := trickyTree()
	root := makeTree(t, files, links)
	t.Run("missing root", func(t *testing.T) {
		_, err := readAll(context.Background(), filepath.Join(root, "nope"), 2)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
			t.Errorf("error %v, want not-exist naming the root", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := readAll(ctx, root, 2)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		if os.Geteuid() == 0 {
			testenv.Inapplicable(t, "root reads files whatever their mode")
		}
		p := filepath.Join(root, "a", "b")
		os.Chmod(p, 0)
		defer os.Chmod(p, 0o644)
		_, err := readAll(context.Background(), root, 2)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("error %v, want permission denied", err)
		}
	})
}

func TestStatAll(t *testing.T) {
	files, links := trickyTree()
	root := makeTree(t, files, links)
	if err := os.Mkdir(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := statAll(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	want := handDigest(files, links)
	// Directories: a, a/c, Z, "dir with space", ü, emptydir.
	const dirs = 6
	if got.Files != want.Files || got.Symlinks != want.Symlinks || got.Bytes != want.Bytes ||
		got.Entries != want.Files+want.Symlinks+dirs || got.Digest != "" {
		t.Errorf("got %+v, want files %d symlinks %d bytes %d entries %d", got, want.Files, want.Symlinks, want.Bytes, want.Files+want.Symlinks+dirs)
	}
	if _, err := statAll(context.Background(), filepath.Join(root, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: error %v", err)
	}
}

// BenchmarkReadAll measures read-all on a warm tree by number of readers:
// go test -bench ReadAll -benchtime 20x ./guestinit/agent
func BenchmarkReadAll(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	files := map[string]string{}
	for i := range 3000 {
		files[fmt.Sprintf("d%02d/f%04d", i%40, i)] = strings.Repeat("x", r.IntN(30000))
	}
	root := makeTree(b, files, nil)
	for _, readers := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			for b.Loop() {
				if _, err := readAll(context.Background(), root, readers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReadAllVerified checks the read-all workload's two passes: the timed one reads every
// byte and computes no digest; the untimed one gives the same digest readAll gives; a tree
// that changes between them fails the workload.
func TestReadAllVerified(t *testing.T) {
	files, links := trickyTree()
	root := makeTree(t, files, links)
	want := handDigest(files, links)
	timed, err := readOnly(context.Background(), root, 4)
	if err != nil {
		t.Fatal(err)
	}
	if timed.Digest != "" || timed.Files != want.Files || timed.Bytes != want.Bytes || timed.Symlinks != want.Symlinks {
		t.Errorf("timed pass %+v, want the counts of %+v and no digest", timed.Summary, want.Summary)
	}
	var atEnd protocol.Result
	got, err := readAllVerified(context.Background(), context.Background(), root, 4, func(r *protocol.Result) {
		atEnd = *r
		r.PageCacheKiB = 42
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != want.Summary || got.PageCacheKiB != 42 || got.Seconds <= 0 || got.VerifySeconds <= 0 {
		t.Errorf("got %+v, want %+v with both times and the page cache", got, want.Summary)
	}
	if atEnd.Digest != "" || atEnd.Files != want.Files {
		t.Errorf("at the end of the timed pass %+v: counts and no digest yet", atEnd.Summary)
	}
	_, err = readAllVerified(context.Background(), context.Background(), root, 4, func(*protocol.Result) {
		if err := os.WriteFile(filepath.Join(root, "new-file"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "digest pass saw") {
		t.Errorf("a tree that changed between the passes: %v", err)
	}
}
