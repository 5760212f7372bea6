package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type tarEntry struct {
	hdr  tar.Header
	body string
}

func tarStream(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Size = int64(len(e.body))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExtractTar(t *testing.T) {
	t1 := time.Date(2024, 10, 15, 12, 0, 0, 0, time.UTC)
	t2 := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	stream := tarStream(t, []tarEntry{
		{tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1001, Gid: 1002, ModTime: t1}, ""},
		{tar.Header{Name: "./ro/", Typeflag: tar.TypeDir, Mode: 0o555, Uid: 1001, Gid: 1002, ModTime: t2}, ""},
		{tar.Header{Name: "./ro/file", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1001, Gid: 1002, ModTime: t2}, "hello\n"},
		{tar.Header{Name: "./ro/exe", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 0, Gid: 0, ModTime: t1}, "#!/bin/sh\n"},
		{tar.Header{Name: "./ro/link", Typeflag: tar.TypeSymlink, Linkname: "file", Uid: 1001, Gid: 1002, ModTime: t2}, ""},
		{tar.Header{Name: "./ro/hard", Typeflag: tar.TypeLink, Linkname: "./ro/file"}, ""},
		// No directory entry for its parent: created on the way.
		{tar.Header{Name: "implicit/dir/empty", Typeflag: tar.TypeReg, Mode: 0o600, ModTime: t1}, ""},
		// A later entry replaces an earlier one, as tar does.
		{tar.Header{Name: "implicit/dir/empty", Typeflag: tar.TypeReg, Mode: 0o640, ModTime: t2}, "second"},
	})
	dir := filepath.Join(t.TempDir(), "target")
	res, n, err := extractTar(context.Background(), bytes.NewReader(stream), dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(stream)) {
		t.Errorf("stream bytes %d, want %d", n, len(stream))
	}
	if res.Files != 5 || res.Symlinks != 1 || res.Bytes != int64(len("hello\n#!/bin/sh\nsecond")) {
		t.Errorf("result %+v", res)
	}
	asRoot := os.Geteuid() == 0
	check := func(rel string, mode fs.FileMode, uid, gid int, mtime time.Time, content string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", rel, info.Mode(), mode)
		}
		st := info.Sys().(*syscall.Stat_t)
		if asRoot && (int(st.Uid) != uid || int(st.Gid) != gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, st.Uid, st.Gid, uid, gid)
		}
		if !info.ModTime().Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", rel, info.ModTime(), mtime)
		}
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			if string(b) != content {
				t.Errorf("%s: content %q, want %q", rel, b, content)
			}
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if target, _ := os.Readlink(p); target != content {
				t.Errorf("%s: target %q, want %q", rel, target, content)
			}
		}
	}
	check(".", fs.ModeDir|0o750, 1001, 1002, t1, "")
	check("ro", fs.ModeDir|0o555, 1001, 1002, t2, "")
	check("ro/file", 0o644, 1001, 1002, t2, "hello\n")
	check("ro/exe", fs.ModeSetuid|0o755, 0, 0, t1, "#!/bin/sh\n")
	check("ro/link", fs.ModeSymlink|0o777, 1001, 1002, t2, "file")
	check("ro/hard", 0o644, 1001, 1002, t2, "hello\n")
	check("implicit/dir/empty", 0o640, 0, 0, t2, "second")
	a, _ := os.Stat(filepath.Join(dir, "ro/file"))
	b, _ := os.Stat(filepath.Join(dir, "ro/hard"))
	if !os.SameFile(a, b) {
		t.Error("ro/hard is not a hard link of ro/file")
	}
	os.Chmod(filepath.Join(dir, "ro"), 0o755) // let TempDir's cleanup remove it
}

func TestExtractTarErrors(t *testing.T) {
	full := tarStream(t, []tarEntry{{tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644}, strings.Repeat("x", 2000)}})
	tests := []struct {
		name   string
		stream []byte
		err    string
	}{
		{"escape", tarStream(t, []tarEntry{{tar.Header{Name: "a/../../etc/passwd", Typeflag: tar.TypeReg}, "x"}}),
			`tar entry "a/../../etc/passwd": path leaves the target directory`},
		{"hard link escape", tarStream(t, []tarEntry{{tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../secret"}, ""}}),
			`tar entry "../secret": path leaves the target directory`},
		{"device", tarStream(t, []tarEntry{{tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, ""}}),
			`tar entry null: unsupported type '3'`},
		{"cut short", full[:1000], "/f: unexpected EOF"},
		{"not tar", bytes.Repeat([]byte("garbage!"), 100), "reading tar stream after 512 bytes: archive/tar: invalid tar header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := extractTar(context.Background(), bytes.NewReader(tt.stream), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}
