//go:build linux

package tree

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// referenceTar is WriteTar as it was before it formatted its own headers: every header
// through archive/tar's Writer. WriteTar must produce the same bytes.
func referenceTar(w io.Writer, root string, m *Matcher, owner *Owner) error {
	tw := tar.NewWriter(w)
	links := map[inode]string{}
	header := func(typ byte, name string, st *syscall.Stat_t) *tar.Header {
		h := &tar.Header{Typeflag: typ, Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
			ModTime: time.Unix(st.Mtim.Sec, 0)}
		if owner != nil {
			h.Uid, h.Gid = owner.UID, owner.GID
		}
		return h
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(root, &st); err != nil {
		return err
	}
	if err := tw.WriteHeader(header(tar.TypeDir, "./", &st)); err != nil {
		return err
	}
	err := Walk(context.Background(), root, m, func(e Entry) error {
		var st syscall.Stat_t
		if err := syscall.Lstat(e.Abs, &st); err != nil {
			return err
		}
		switch {
		case e.Mode.IsDir():
			return tw.WriteHeader(header(tar.TypeDir, e.Rel+"/", &st))
		case e.Mode&fs.ModeSymlink != 0:
			h := header(tar.TypeSymlink, e.Rel, &st)
			h.Linkname = e.Target
			return tw.WriteHeader(h)
		case e.Mode.IsRegular():
			if st.Nlink > 1 {
				id := inode{st.Dev, st.Ino}
				if first, ok := links[id]; ok {
					h := header(tar.TypeLink, e.Rel, &st)
					h.Linkname = first
					return tw.WriteHeader(h)
				}
				links[id] = e.Rel
			}
			h := header(tar.TypeReg, e.Rel, &st)
			h.Size = st.Size
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			data, err := os.ReadFile(e.Abs)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// ustarSource is tarSource plus names at and around every ustar limit, non-ASCII names and
// link targets, a long symlink target, a file larger than WriteTar's buffers and, as root,
// owners that only PAX can hold.
func ustarSource(t *testing.T) string {
	t.Helper()
	root := tarSource(t)
	seg := func(n int) string { return strings.Repeat("d", n) }
	files := map[string]string{
		seg(100):                                "exactly 100 bytes",
		seg(101):                                "101 bytes, no slash: PAX",
		"p/" + seg(98):                          "100 with its directory",
		"p/" + seg(99):                          "101: prefix p, name of 99",
		"q/" + seg(99) + "/f":                   "its directory's name, 102 with the slash, splits before it",
		seg(155) + "/" + seg(100):               "prefix 155, name 100",
		seg(155) + "/" + seg(101):               "name 101: PAX",
		seg(156) + "/x":                         "prefix 156: PAX",
		seg(60) + "/" + seg(60) + "/" + seg(60): "split at the last fitting slash",
		"ünïcödé.txt":                           "UTF-8 name: PAX",
		"big.bin":                               strings.Repeat("0123456789abcdef", (3*tarBufSize)/16+77),
		"tiny":                                  "x",
		"block":                                 strings.Repeat("b", tarBlock),
		"empty-file":                            "",
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"long-target":            strings.Repeat("t/", 60),
		"link-100":               seg(100),
		"utf8-target":            "ünïcödé.txt",
		"p/" + seg(99) + "-link": "../" + seg(100),
	}
	for rel, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(rel))); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(filepath.Join(root, "tiny"), 3_000_000, 7); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC) // before 1970: PAX mtime
	if err := os.Chtimes(filepath.Join(root, "block"), old, old); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestWriteTarMatchesArchiveTar(t *testing.T) {
	src := ustarSource(t)
	m, err := NewMatcher(seedRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		m     *Matcher
		owner *Owner
	}{
		{"all, owners kept", nil, nil},
		{"seed rules, owners kept", m, nil},
		{"seed rules, owner forced", m, &Owner{UID: 1001, GID: 1001}},
		{"owner beyond ustar", nil, &Owner{UID: 1 << 22, GID: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := referenceTar(&want, src, tc.m, tc.owner); err != nil {
				t.Fatal(err)
			}
			if _, err := WriteTar(context.Background(), &got, src, tc.m, tc.owner); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("WriteTar wrote %d bytes that differ from archive/tar's %d first at block %d:\n%s",
					got.Len(), want.Len(), firstDiff(got.Bytes(), want.Bytes())/tarBlock, describeDiff(got.Bytes(), want.Bytes()))
			}
			// The stream holds what the test meant it to: some headers needed PAX.
			pax := 0
			tr := tar.NewReader(bytes.NewReader(got.Bytes()))
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if h.Format&tar.FormatPAX != 0 {
					pax++
				}
			}
			if pax < 5 {
				t.Errorf("%d PAX headers, want at least 5 (long names, UTF-8, long targets, old mtime)", pax)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// describeDiff shows the differing header blocks of two tar streams.
func describeDiff(got, want []byte) string {
	i := firstDiff(got, want) / tarBlock * tarBlock
	block := func(b []byte) string {
		if i >= len(b) {
			return "(end of stream)"
		}
		return fmt.Sprintf("%q", b[i:min(len(b), i+tarBlock)])
	}
	return "got:  " + block(got) + "\nwant: " + block(want)
}

// errAfter fails every write once n bytes have been written.
type errAfter struct {
	n   int
	err error
}

func (w *errAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteTarWriterFailsLate(t *testing.T) {
	src := ustarSource(t)
	boom := errors.New("connection reset")
	w := &errAfter{n: tarBufSize + 1000, err: boom}
	_, err := WriteTar(context.Background(), w, src, nil, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), src) {
		t.Errorf("err %v, want the writer's, naming %s", err, src)
	}
}

func TestWriteTarGrowsPipe(t *testing.T) {
	src := makeTree(t, map[string]string{"a": "aaaa"})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	if _, err := WriteTar(context.Background(), w, src, nil, nil); err != nil {
		t.Fatal(err)
	}
	size, err := fcntlPipeSize(w)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if size < tarPipeSize && pipeMax() >= tarPipeSize {
		t.Errorf("pipe buffer %d bytes, want %d (pipe-max-size allows it)", size, tarPipeSize)
	}
	if b := <-done; len(b) == 0 || len(b)%tarBlock != 0 {
		t.Errorf("read %d bytes through the pipe, want whole blocks", len(b))
	}
}

func fcntlPipeSize(f *os.File) (int, error) {
	return unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
}

// pipeMax is the largest pipe buffer an unprivileged process may ask for.
func pipeMax() int {
	b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
