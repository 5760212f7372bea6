package run

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// oddTree makes, at root, a tree of every kind of entry that is hard to carry: a mode-000
// file and a mode-000 directory with a file in it (root reads them: CAP_DAC_OVERRIDE), a
// symlink loop, a dangling symlink, a FIFO, a socket, character and block devices, hard links
// (one from inside an excluded directory), empty directories, names that are not UTF-8, that
// hold spaces, newlines, a carriage return or backslashes and globs, that start with dashes,
// a path whose host path is PATH_MAX-1 bytes, 0-byte files, and excluded directories that
// hold more of the same. It returns how many entries survive the demo's exclusions and how
// many of them are special (FIFOs, sockets, devices).
func oddTree(t *testing.T, root string) (entries, specials int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"src/a.c":               "int a;\n",
		"src/empty":             "",
		"with space":            "sp\n",
		" leading space":        "sp\n",
		"-leading-dash":         "dash\n",
		"--":                    "dashes\n",
		"-rf":                   "dashes\n",
		"bad\xff\xfename":       "not UTF-8\n",
		"\xc3\x28":              "invalid UTF-8 pair\n",
		"new\nline":             "newline\n",
		"cr\rname":              "carriage return\n",
		`back\slash*?[glob]`:    "glob characters\n",
		"unicode-ünïcödé":       "UTF-8\n",
		"locked/inside.txt":     "inside a mode-000 directory\n",
		"build/stage1/bin/tool": "excluded\n",
		"build/stage2cross/ok":  "kept\n",
		".git/HEAD":             "ref: refs/heads/main\n",
	}
	for p, c := range files {
		must(os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		must(os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	must(os.Chmod(filepath.Join(root, "src/empty"), 0o000))
	must(os.Mkdir(filepath.Join(root, "empty"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "empty2/nested/deeper"), 0o700))
	must(os.Link(filepath.Join(root, "src/a.c"), filepath.Join(root, "hardlink")))
	must(os.Link(filepath.Join(root, "build/stage1/bin/tool"), filepath.Join(root, "link-to-excluded")))
	must(os.Symlink("loop1", filepath.Join(root, "loop2")))
	must(os.Symlink("loop2", filepath.Join(root, "loop1")))
	must(os.Symlink("does/not/exist", filepath.Join(root, "dangling")))
	must(os.Symlink("../src", filepath.Join(root, "empty/up")))
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	must(unix.Mkfifo(filepath.Join(root, "build/stage1/fifo"), 0o644))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "sock"), Net: "unix"})
	must(err)
	l.SetUnlinkOnClose(false)
	l.Close()
	specials = 2
	if unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil {
		must(unix.Mknod(filepath.Join(root, "loopdev"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
		specials += 2
	}
	// Directories of 250-byte names down to a file whose host path is PATH_MAX-1 bytes.
	dir := filepath.Join(root, "deep")
	must(os.Mkdir(dir, 0o755))
	deep := 1
	for i := 0; tree.PathMax-1-len(dir)-1 > 255; i++ {
		dir = filepath.Join(dir, fmt.Sprintf("%03d", i)+strings.Repeat("d", 247))
		must(os.Mkdir(dir, 0o755))
		deep++
	}
	must(os.WriteFile(filepath.Join(dir, strings.Repeat("f", tree.PathMax-1-len(dir)-1)), []byte("deep\n"), 0o644))
	must(os.Chmod(filepath.Join(root, "locked"), 0o000))
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "locked"), 0o755) })
	// Kept: 18 files (15 named above, hardlink, link-to-excluded, deep's file), 8 directories
	// (src, locked, build, build/stage2cross, empty, empty2 and its two), 4 symlinks, the
	// specials and deep's directories.
	entries = 18 + 8 + 4 + specials + deep
	return entries, specials
}

// TestOddTreeEveryMethod runs every method of the demo, with the demo's exclusions and
// owner, on the odd tree: each must read the tree with the host's digest (so every file and
// symlink arrived with its name, size, content and target), show the guest every entry the
// method can carry (the tar streams leave out the specials, which the run announces before
// any cell, and the cells' warnings repeat), and leave the host tree as it was.
func TestOddTreeEveryMethod(t *testing.T) {
	needGuest(t)
	needVirtiofsd(t)
	root := filepath.Join(t.TempDir(), "odd tree")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, specials := oddTree(t, root)
	m, _ := tree.NewMatcher([]string{".git", "build/*", "!build/stage2cross"})
	rep, err := tree.Survey(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != int64(entries) {
		t.Fatalf("the survey counts %d entries, the test %d", rep.Entries, entries)
	}
	fr := runFault(t, faultSpec("odd", "9p: {}, virtiofs: {}, squashfs: {compression: none}, ext4: {}, erofs: {}, ssh-tar: {}, serial-tar: {}",
		`tree:
  path: "`+root+`"
  exclude: [.git, "build/*", "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
workload: {builtin: read-all, timeout: 5m}
`), faultOpts{setup: func(r *testRunner) { r.Choices.Verify = true }})
	if len(fr.cells) != 7 {
		t.Fatalf("%d results, want 7", len(fr.cells))
	}
	want := fr.r.Want
	if want == nil || want.Files != 18 || want.Symlinks != 4 {
		t.Fatalf("host digest %+v, want 18 files and 4 symlinks", want)
	}
	for _, l := range []string{fmt.Sprintf("tree: %d special entries (", specials), "tree: 2 names with a newline ("} {
		if !strings.Contains(fr.progress, l) {
			t.Errorf("the run did not announce %q:\n%s", l, fr.progress)
		}
	}
	for _, c := range fr.cells {
		if c.Status != results.StatusOK {
			t.Errorf("%s failed: %s", c.ID, c.Error)
			continue
		}
		if c.DigestOK == nil || !*c.DigestOK || c.Guest.Files != want.Files || c.Guest.Symlinks != want.Symlinks {
			t.Errorf("%s: digest ok %v, guest %d files %d symlinks", c.ID, c.DigestOK, c.Guest.Files, c.Guest.Symlinks)
		}
		seen, wantSeen, owner := int64(0), int64(entries), "1001:1001"
		warn := strings.Join(c.Warnings, "\n")
		switch c.Method {
		case "ssh-tar", "serial-tar":
			wantSeen -= int64(specials)
			if !strings.Contains(warn, c.Method+"'s tar stream leaves them out") {
				t.Errorf("%s: the warnings do not say that the specials are left out:\n%s", c.ID, warn)
			}
		case "9p", "virtiofs":
			owner = "0:0" // a share shows the host's owners
		case "ext4":
			if !strings.Contains(warn, "ext4 carries them when it reads the tree through a mount view") {
				t.Errorf("%s: warnings:\n%s", c.ID, warn)
			}
		}
		if c.Verify == nil || c.Verify.WriteError != "" {
			t.Errorf("%s: verify %+v", c.ID, c.Verify)
			continue
		}
		for o, n := range c.Verify.Owners {
			seen += n
			if o != owner {
				t.Errorf("%s: %d entries owned by %s, want all %s", c.ID, n, o, owner)
			}
		}
		if seen != wantSeen {
			t.Errorf("%s: the guest sees %d entries, want %d", c.ID, seen, wantSeen)
		}
	}
}

// TestSparseFileInImages puts a 4 GiB sparse file and a 0-byte file in a tree and builds the
// images that keep holes cheap: the guest must see the full size of every file (stat-all;
// reading 4 GiB under TCG would take minutes), and the images must not take 4 GiB of disk.
// (erofs without compression would: mkfs.erofs 1.5 writes the holes out.) The tar
// streams and the shares are left out: a stream sends every byte of the file (4 GiB at about
// 19 MB/s over virtio-serial under TCG), a share needs no copy.
func TestSparseFileInImages(t *testing.T) {
	needGuest(t)
	root := t.TempDir()
	sparseTree(t, root)
	images := map[string]int64{} // method -> largest image seen in its work directory
	fr := runFault(t, faultSpec("sparse", "squashfs: {compression: none}, erofs: {compression: lz4}, ext4: {}",
		"tree: {path: "+root+"}\nworkload: {builtin: stat-all, timeout: 5m}\n"),
		faultOpts{during: func(r *testRunner, stop <-chan struct{}) { watchImages(r, stop, images) }})
	size, err := method.MeasureTree(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fr.cells {
		if c.Status != results.StatusOK {
			t.Errorf("%s failed: %s", c.ID, c.Error)
			continue
		}
		if c.Guest.Files != 3 || c.Guest.Bytes != size.Bytes || size.Bytes != 4<<30+6 {
			t.Errorf("%s: the guest sees %d files, %d bytes; the host %d bytes", c.ID, c.Guest.Files, c.Guest.Bytes, size.Bytes)
		}
		t.Logf("%s: build %.1fs, image of %d KiB on disk", c.ID, c.Phases["build"], images[c.Method]>>10)
		// ext4's image is sized for 4 GiB of content, and its inode tables, zeroed by mkfs,
		// take 80 MiB of disk; the file's holes take none.
		if images[c.Method] == 0 || images[c.Method] > 256<<20 {
			t.Errorf("%s: the image used %d bytes of disk", c.ID, images[c.Method])
		}
	}
}

// sparseTree makes the sparse test tree in root: a 6-byte file, an empty one and a 4 GiB file
// that is one hole.
func sparseTree(t *testing.T, root string) {
	t.Helper()
	for p, c := range map[string]string{"a.txt": "hello\n", "zero": ""} {
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "sparse"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(root, "sparse"), 4<<30); err != nil {
		t.Fatal(err)
	}
}

// watchImages records, until stop, the disk use of the largest file in each cell's work
// directory, by method.
func watchImages(r *testRunner, stop <-chan struct{}, out map[string]int64) {
	for {
		ms, _ := filepath.Glob(filepath.Join(r.Dirs.Run, "work", "*", "tree.*"))
		for _, p := range ms {
			var st unix.Stat_t
			if unix.Stat(p, &st) == nil {
				m := strings.SplitN(filepath.Base(filepath.Dir(p)), ".", 2)[0]
				m = strings.SplitN(m, "__", 2)[0]
				out[m] = max(out[m], st.Blocks*512)
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestTreeNoMethodCanCarry: a tree with a path too long for the host's system calls, or one
// too long under the guest's mountpoint, is refused before anything runs, the path and the
// reason named.
func TestTreeNoMethodCanCarry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		hostPath   int    // the length of the deep file's host path
		mountpoint string // the guest's
		want       string
	}{
		{"too long on the host", tree.PathMax, "/root/tree",
			"(entry, 4096 bytes on the host): system calls take paths of at most 4095 bytes (PATH_MAX, with the NUL), so nothing can open it"},
		{"too long in the guest", tree.PathMax - 1, "/" + strings.Repeat("m", 120),
			"bytes under the guest's mountpoint /mmm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "tree")
			dir := filepath.Join(root, "deep")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := 0; tc.hostPath-len(dir)-1 > 255; i++ {
				dir = filepath.Join(dir, fmt.Sprintf("%03d", i)+strings.Repeat("d", 247))
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			d, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fd, err := unix.Openat(d, strings.Repeat("f", tc.hostPath-len(dir)-1), unix.O_CREAT|unix.O_WRONLY, 0o644)
			unix.Close(d)
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(fd)
			file := filepath.Join(t.TempDir(), "spec.yaml")
			if err := os.WriteFile(file, []byte(faultSpec("long", "9p: {}", "tree: {path: "+root+"}\nguest: {mountpoint: "+tc.mountpoint+"}\nworkload: {builtin: read-all}\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			e, err := spec.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			tmp := isolateTmp(t)
			_, err = probe.Host(context.Background(), e, probe.Options{})
			if err == nil {
				t.Fatal("the probe accepted the tree")
			}
			if !strings.HasPrefix(err.Error(), "the tree "+root+" has 1 entries no method can carry:\n  \"deep/000") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%s\nwant it to hold %q", err, tc.want)
			}
			assertNoLeftovers(t, tmp, "")
		})
	}
}
