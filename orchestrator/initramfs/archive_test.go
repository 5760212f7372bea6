package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// got is one archive entry as read back.
type got struct {
	Name    string
	Mode    cpio.FileMode
	Inode   int64
	Links   int
	Link    string
	Content string
}

// readArchives reads concatenated newc archives the way the kernel does: after each trailer
// it skips zero padding to the next 4-byte boundary and starts over.
func readArchives(t *testing.T, b []byte) [][]got {
	t.Helper()
	var out [][]got
	off := 0
	for off < len(b) {
		cr := &countReader{r: bytes.NewReader(b[off:])}
		r := cpio.NewReader(cr)
		var entries []got
		for {
			h, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("archive %d at byte %d: %v", len(out), off+cr.n, err)
			}
			if h.Uid != 0 || h.Guid != 0 || h.ModTime.Unix() != 0 || h.Checksum != 0 {
				t.Errorf("%s: uid %d gid %d mtime %d checksum %d, want all 0", h.Name, h.Uid, h.Guid, h.ModTime.Unix(), h.Checksum)
			}
			c, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, got{h.Name, h.Mode, h.Inode, h.Links, h.Linkname, string(c)})
		}
		out = append(out, entries)
		off += cr.n
		for off%4 != 0 || (off < len(b) && b[off] == 0) {
			if off >= len(b) || b[off] != 0 {
				t.Fatalf("byte %d: non-zero padding after archive %d", off, len(out)-1)
			}
			off++
		}
	}
	return out
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// magics returns the magic of every header in a single archive, walking it by hand.
func magics(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for off := 0; off+110 <= len(b); {
		hdr := string(b[off : off+110])
		out = append(out, hdr[:6])
		var size, namesize int64
		fmt.Sscanf(hdr[54:62], "%08x", &size)
		fmt.Sscanf(hdr[94:102], "%08x", &namesize)
		name := string(b[off+110 : off+110+int(namesize)-1])
		off += int((110 + namesize + 3) &^ 3)
		off += int((size + 3) &^ 3)
		if name == "TRAILER!!!" {
			break
		}
	}
	return out
}

func TestWrite(t *testing.T) {
	src := filepath.Join(t.TempDir(), "host.txt")
	if err := os.WriteFile(src, []byte("from the host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := []File{
		{Name: "/usr/bin/tool", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
		{Name: "etc/hostname", Data: []byte("guest\n")},
		{Name: "/bin/sh", Link: "/bin/busybox"},
		{Name: "/tmp", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{Name: "/etc/from-host", Src: src},
		{Name: "/empty", Data: nil},
		{Name: "./usr//share/./x", Mode: 0o600, Data: []byte("x")},
	}
	var buf bytes.Buffer
	if err := Write(&buf, files); err != nil {
		t.Fatal(err)
	}
	archives := readArchives(t, buf.Bytes())
	if len(archives) != 1 {
		t.Fatalf("got %d archives, want 1", len(archives))
	}
	want := []got{
		{"bin", cpio.TypeDir | 0o755, 1, 2, "", ""},
		{"bin/sh", cpio.TypeSymlink | 0o777, 2, 1, "/bin/busybox", ""},
		{"empty", cpio.TypeReg | 0o644, 3, 1, "", ""},
		{"etc", cpio.TypeDir | 0o755, 4, 2, "", ""},
		{"etc/from-host", cpio.TypeReg | 0o644, 5, 1, "", "from the host\n"},
		{"etc/hostname", cpio.TypeReg | 0o644, 6, 1, "", "guest\n"},
		{"tmp", cpio.TypeDir | cpio.ModeSticky | 0o777, 7, 2, "", ""},
		{"usr", cpio.TypeDir | 0o755, 8, 2, "", ""},
		{"usr/bin", cpio.TypeDir | 0o755, 9, 2, "", ""},
		{"usr/bin/tool", cpio.TypeReg | 0o755, 10, 1, "", "#!/bin/sh\n"},
		{"usr/share", cpio.TypeDir | 0o755, 11, 2, "", ""},
		{"usr/share/x", cpio.TypeReg | 0o600, 12, 1, "", "x"},
	}
	if !reflect.DeepEqual(archives[0], want) {
		t.Errorf("archive:\n got %+v\nwant %+v", archives[0], want)
	}
	for i, m := range magics(t, buf.Bytes()) {
		if m != "070701" {
			t.Errorf("header %d has magic %s, want 070701 (newc without checksum)", i, m)
		}
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive is %d bytes, not 4-aligned", buf.Len())
	}

	// Same files in another order: the same bytes.
	var again bytes.Buffer
	rev := append([]File(nil), files...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if err := Write(&again, rev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("writing the same files in another order gave different bytes")
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []File
		err   string
	}{
		{"twice", []File{{Name: "/a"}, {Name: "a"}}, `"a": listed twice`},
		{"dot dot", []File{{Name: "../etc/passwd"}}, "may not contain .."},
		{"dot dot inside", []File{{Name: "a/../../b"}}, "may not contain .."},
		{"empty name", []File{{Name: "/"}}, "not a file name"},
		{"parent is a file", []File{{Name: "a", Data: []byte("x")}, {Name: "a/b"}}, `parent "a" is not a directory`},
		{"symlink with content", []File{{Name: "l", Link: "t", Data: []byte("x")}}, "only regular files have content"},
		{"symlink without target", []File{{Name: "l", Mode: fs.ModeSymlink}}, "symlink without a target"},
		{"device", []File{{Name: "dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice}}, "unsupported file type"},
		{"missing source", []File{{Name: "x", Src: "/nonexistent/file"}}, "/nonexistent/file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(io.Discard, tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Write() error = %v, want %q", err, tt.err)
			}
		})
	}
}

// compressedModules writes the same module content as .ko.xz (the way the kernel's build
// does, with the xz tool when present, and with the library), .ko.zst and .ko.gz.
func compressedModules(t *testing.T, dir string, content []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	var xb bytes.Buffer
	xw, err := xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(&xb)
	if err != nil {
		t.Fatal(err)
	}
	xw.Write(content)
	if err := xw.Close(); err != nil {
		t.Fatal(err)
	}
	write("libxz.ko.xz", xb.Bytes())

	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	write("zst.ko.zst", zw.EncodeAll(content, nil))

	var gb bytes.Buffer
	gw := gzip.NewWriter(&gb)
	gw.Write(content)
	gw.Close()
	write("gz.ko.gz", gb.Bytes())

	if _, err := exec.LookPath("xz"); err != nil {
		testenv.Missing(t, "xz is not installed, no module compressed by the xz tool: %v", err)
		return out
	}
	plain := filepath.Join(dir, "toolxz.ko")
	if err := os.WriteFile(plain, content, 0o644); err != nil {
		t.Fatal(err)
	}
	// The kernel's scripts/Makefile.modinst compresses with these flags.
	if b, err := exec.Command("xz", "--check=crc32", "--lzma2=dict=1MiB", "-f", plain).CombinedOutput(); err != nil {
		t.Fatalf("xz: %v\n%s", err, b)
	}
	out["toolxz.ko.xz"] = plain + ".xz"
	return out
}

func TestWriteDecompressesModules(t *testing.T) {
	content := bytes.Repeat([]byte("\x7fELF module body "), 5000)
	mods := compressedModules(t, t.TempDir(), content)
	var files []File
	var want []string
	for name, p := range mods {
		// Both a name with the compressed suffix and a plain .ko name end up as .ko.
		files = append(files, File{Name: "/lib/modules/" + name, Src: p})
		files = append(files, File{Name: "/plain/" + strings.SplitN(name, ".", 2)[0] + ".ko", Src: p})
		base := strings.SplitN(name, ".", 2)[0]
		want = append(want, "lib/modules/"+base+".ko", "plain/"+base+".ko")
	}
	var buf bytes.Buffer
	if err := Write(&buf, files); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range readArchives(t, buf.Bytes())[0] {
		if e.Mode&cpio.ModeType != cpio.TypeReg {
			continue
		}
		seen[e.Name] = true
		if e.Content != string(content) {
			t.Errorf("%s: %d bytes, want the %d decompressed bytes", e.Name, len(e.Content), len(content))
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no entry %s in %v", w, seen)
		}
	}
}

func TestWriteCorruptModule(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.ko.xz")
	if err := os.WriteFile(p, []byte("not xz"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(io.Discard, []File{{Name: "bad.ko", Src: p}})
	if err == nil || !strings.Contains(err.Error(), "decompress "+p) {
		t.Fatalf("Write() error = %v, want a decompress error naming %s", err, p)
	}
}

func TestJobArchiveAndCellInitrd(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.cpio")
	var b bytes.Buffer
	if err := Write(&b, []File{{Name: "/init", Mode: 0o755, Data: []byte("agent")}, {Name: ModuleListPath, Data: []byte("a.ko\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	job := []byte(`{"steps":[]}` + "\n")
	dst := filepath.Join(dir, "cell.initrd")
	if err := WriteCellInitrd(dst, base, job); err != nil {
		t.Fatal(err)
	}
	cell, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(cell, b.Bytes()) {
		t.Fatal("cell initrd does not start with the base archive")
	}
	archives := readArchives(t, cell)
	if len(archives) != 2 {
		t.Fatalf("cell initrd holds %d archives, want 2", len(archives))
	}
	wantBase := []string{"init", "vmfsbench", "vmfsbench/modules"}
	wantJob := []got{
		{"vmfsbench", cpio.TypeDir | 0o755, jobInodes, 2, "", ""},
		{"vmfsbench/job.json", cpio.TypeReg | 0o644, jobInodes + 1, 1, "", string(job)},
	}
	var gotBase []string
	for _, e := range archives[0] {
		gotBase = append(gotBase, e.Name)
	}
	if !reflect.DeepEqual(gotBase, wantBase) {
		t.Errorf("base archive = %v, want %v", gotBase, wantBase)
	}
	if !reflect.DeepEqual(archives[1], wantJob) {
		t.Errorf("job archive = %+v, want %+v", archives[1], wantJob)
	}
	ja, err := JobArchive(job)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cell[len(b.Bytes()):], ja) {
		t.Error("cell initrd does not end with JobArchive(job)")
	}
	// Rewriting replaces the file whole and leaves no temporary behind.
	if err := WriteCellInitrd(dst, base, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("dir holds %d entries after two writes, want 2 (base and cell)", len(ents))
	}
	if err := WriteCellInitrd(filepath.Join(dir, "x"), filepath.Join(dir, "missing.cpio"), job); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteCellInitrd(missing base) error = %v, want ErrNotExist", err)
	}
}
