//go:build linux

package tree

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// needGNUTar returns the path of GNU tar. Without CI a missing tar skips the test loudly;
// with CI=true it fails it.
func needGNUTar(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tar")
	if err == nil {
		if out, verr := exec.Command(p, "--version").Output(); verr == nil && strings.Contains(string(out), "GNU tar") {
			return p
		}
		err = errors.New("tar is not GNU tar")
	}
	testenv.Missing(t, "GNU tar is needed to check the tar writer: %v", err)
	return ""
}

// meta is what the tar stream must carry of a path.
type meta struct {
	typ      fs.FileMode
	perm     fs.FileMode // permission, setuid, setgid and sticky bits
	uid, gid uint32
	mtime    int64 // seconds
	size     int64 // regular files
	target   string
	ino      uint64
	nlink    uint64
}

// treeMeta lstats root and every directory, file and symlink Walk yields under it (the root
// is ".").
func treeMeta(t *testing.T, root string, m *Matcher) map[string]meta {
	t.Helper()
	out := map[string]meta{}
	add := func(rel, abs string) {
		var st syscall.Stat_t
		if err := syscall.Lstat(abs, &st); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(abs)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() && !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
			return // a FIFO, socket or device: not in the stream
		}
		x := meta{typ: fi.Mode().Type(), perm: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			uid: st.Uid, gid: st.Gid, mtime: st.Mtim.Sec, ino: st.Ino, nlink: uint64(st.Nlink)}
		switch {
		case fi.Mode().IsRegular():
			x.size = st.Size
		case fi.Mode()&fs.ModeSymlink != 0:
			x.target, _ = os.Readlink(abs)
			x.perm = 0 // not kept by any tar, and meaningless on Linux
		}
		out[rel] = x
	}
	add(".", root)
	err := Walk(context.Background(), root, m, func(e Entry) error {
		add(e.Rel, e.Abs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tarSource makes a tree with every kind of entry WriteTar handles or skips, special mode
// bits, sub-second mtimes, hard links (one of them reaching an excluded path), names longer
// than ustar holds and, as root, other owners.
func tarSource(t *testing.T) string {
	t.Helper()
	long := strings.Repeat("long-directory-name-", 6) // 120 bytes: over ustar's 100
	root := makeTree(t, map[string]string{
		"a.c":                        "int main;\n",
		"a/b":                        "bee",
		"a/c/d":                      "",
		"link":                       "-> a/b",
		"dangling":                   "-> nowhere/at/all",
		"empty/":                     "",
		"h/one":                      "shared content",
		"h/three":                    "another inode",
		"keep/x":                     "x",
		".git/HEAD":                  "ref: refs/heads/main\n",
		"build/stage1/first":         "linked from keep/second",
		"build/stage2cross/bin/tool": strings.Repeat("\x7fELF", 300_000),
		long + "/" + long + "/" + long + "/file-" + long: "deep",
	})
	p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Link(p("h/one"), p("h/two")))
	must(os.Link(p("h/one"), p("h/zz-three-names")))
	must(os.Link(p("build/stage1/first"), p("keep/second")))
	must(syscall.Mkfifo(p("keep/fifo"), 0o644))
	must(os.Chmod(p("build/stage2cross/bin/tool"), 0o755|fs.ModeSetuid))
	must(os.Chmod(p("a/c/d"), 0o600))
	must(os.Chmod(p("a.c"), 0o444))
	must(os.Chmod(p("empty"), 0o777|fs.ModeSticky))
	must(os.Chmod(p("keep"), 0o750|fs.ModeSetgid))
	if os.Geteuid() == 0 {
		must(os.Lchown(p("a/b"), 1234, 5678))
		must(os.Lchown(p("link"), 4321, 8765))
		must(os.Lchown(p("a"), 42, 43))
	}
	// Times last: creating entries changes their directories' mtimes.
	at := time.Date(2021, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	i := 0
	must(filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		i++
		ts := syscall.NsecToTimespec(at.Add(time.Duration(i) * 1001 * time.Millisecond).UnixNano())
		// No AT_SYMLINK_NOFOLLOW in syscall's UtimesNano: set links apart.
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		return syscall.UtimesNano(path, []syscall.Timespec{ts, ts})
	}))
	return root
}

func TestWriteTarExtractsWithGNUTar(t *testing.T) {
	gnu := needGNUTar(t)
	src := tarSource(t)
	m, err := NewMatcher(seedRules)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DigestTree(context.Background(), src, m)
	if err != nil {
		t.Fatal(err)
	}
	before := treeMeta(t, src, m)
	asRoot := os.Geteuid() == 0
	for _, tc := range []struct {
		name  string
		owner *Owner
	}{{"owners kept", nil}, {"owner forced", &Owner{UID: 1001, GID: 1002}}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(dir, "tree.tar")
			f, err := os.Create(archive)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := WriteTar(context.Background(), f, src, m, tc.owner)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum.Files != want.Files || sum.Symlinks != want.Symlinks || sum.Bytes != want.Bytes || sum.Digest != "" {
				t.Errorf("summary %+v, want the digest's counts %+v and no digest", sum, want)
			}
			checkStream(t, archive, src, m, tc.owner)

			dst := filepath.Join(dir, "out")
			if err := os.Mkdir(dst, 0o700); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(gnu, "-x", "-p", "-f", archive, "-C", dst).CombinedOutput(); err != nil {
				t.Fatalf("tar -x: %v\n%s", err, out)
			}
			got, err := DigestTree(context.Background(), dst, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("extracted tree %+v, source %+v", got, want)
			}
			after := treeMeta(t, dst, nil)
			for rel, w := range before {
				g, ok := after[rel]
				if !ok {
					t.Errorf("%s: missing after extraction", rel)
					continue
				}
				if g.typ != w.typ || g.perm != w.perm || g.size != w.size || g.target != w.target {
					t.Errorf("%s: extracted %v %v size %d -> %q, source %v %v size %d -> %q", rel, g.typ, g.perm, g.size, g.target, w.typ, w.perm, w.size, w.target)
				}
				if g.mtime != w.mtime {
					t.Errorf("%s: mtime %d, want %d (the source's, to the second)", rel, g.mtime, w.mtime)
				}
				if asRoot {
					wu, wg := w.uid, w.gid
					if tc.owner != nil {
						wu, wg = uint32(tc.owner.UID), uint32(tc.owner.GID)
					}
					if g.uid != wu || g.gid != wg {
						t.Errorf("%s: owner %d:%d, want %d:%d", rel, g.uid, g.gid, wu, wg)
					}
				}
			}
			for rel := range after {
				if _, ok := before[rel]; !ok {
					t.Errorf("%s: extracted but not in the filtered source", rel)
				}
			}
			// Hard links stay links; a link whose other name is excluded becomes a file.
			if a, b, c := after["h/one"], after["h/two"], after["h/zz-three-names"]; a.ino != b.ino || a.ino != c.ino || a.nlink != 3 {
				t.Errorf("h/one, h/two, h/zz-three-names: inodes %d %d %d, nlink %d; want one inode with 3 links", a.ino, b.ino, c.ino, a.nlink)
			}
			if s := after["keep/second"]; s.nlink != 1 || s.size != int64(len("linked from keep/second")) {
				t.Errorf("keep/second: nlink %d size %d; want a plain file", s.nlink, s.size)
			}
		})
	}
}

// checkStream reads the archive back: entries in Walk order after "./", hard links and
// long names encoded as intended, no names, no FIFO.
func checkStream(t *testing.T, archive, src string, m *Matcher, owner *Owner) {
	t.Helper()
	want := []string{"./"}
	if err := Walk(context.Background(), src, m, func(e Entry) error {
		switch {
		case e.Mode.IsDir():
			want = append(want, e.Rel+"/")
		case e.Mode.IsRegular(), e.Mode&fs.ModeSymlink != 0:
			want = append(want, e.Rel)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var got []string
	sawPAX := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: names %q:%q, want none", h.Name, h.Uname, h.Gname)
		}
		if owner != nil && (h.Uid != owner.UID || h.Gid != owner.GID) {
			t.Errorf("%s: owner %d:%d, want %d:%d", h.Name, h.Uid, h.Gid, owner.UID, owner.GID)
		}
		if len(h.Name) > 256 && h.Format&tar.FormatPAX != 0 {
			sawPAX = true
		}
		switch h.Name {
		case "h/two", "h/zz-three-names":
			if h.Typeflag != tar.TypeLink || h.Linkname != "h/one" {
				t.Errorf("%s: type %q link %q, want a hard link to h/one", h.Name, h.Typeflag, h.Linkname)
			}
		case "h/one", "keep/second":
			if h.Typeflag != tar.TypeReg {
				t.Errorf("%s: type %q, want a regular file", h.Name, h.Typeflag)
			}
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant (Walk order, no FIFO):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !sawPAX {
		t.Error("no entry with a name over 256 bytes was written as PAX")
	}
}

func TestWriteTarErrors(t *testing.T) {
	src := makeTree(t, map[string]string{"a": "aaaa", "b/c": "cccc"})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := WriteTar(ctx, io.Discard, src, nil, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	})
	t.Run("writer fails", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := WriteTar(context.Background(), failWriter{boom}, src, nil, nil)
		if !errors.Is(err, boom) {
			t.Errorf("err %v, want the writer's", err)
		}
	})
	t.Run("missing root", func(t *testing.T) {
		missing := filepath.Join(src, "missing")
		if _, err := WriteTar(context.Background(), io.Discard, missing, nil, nil); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("err %v, want one naming %s", err, missing)
		}
	})
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

const tarHelperEnv = "VMFSBENCH_TAR_HELPER_ROOT"

// TestWriteTarHelperProcess is not a test: BenchmarkWriteTar100k runs the test binary again
// with tarHelperEnv set, and this then streams the tree to stdout and exits, so the child's
// peak RSS is the tar writer's alone.
func TestWriteTarHelperProcess(t *testing.T) {
	root := os.Getenv(tarHelperEnv)
	if root == "" {
		return
	}
	if _, err := WriteTar(context.Background(), os.Stdout, root, nil, &Owner{UID: 1001, GID: 1001}); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// tarBench runs argv with its stdout drained through a pipe (so the tar really reads every
// file: GNU tar skips the reads when its output is /dev/null) and reports throughput and the
// child's peak RSS.
func tarBench(b *testing.B, argv []string, env []string) {
	var size, maxRSS int64
	var elapsed time.Duration
	for b.Loop() {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{out}, make([]byte, 1<<20))
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("%s: %v\n%s", argv[0], err, stderr.String())
		}
		elapsed += time.Since(start)
		size = n
		maxRSS = max(maxRSS, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	b.SetBytes(size)
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/stream")
}

// BenchmarkWriteTar100k streams the 100,000-file benchmark tree with WriteTar (owner forced,
// no exclusions) in a child process; compare with BenchmarkGNUTar100k.
func BenchmarkWriteTar100k(b *testing.B) {
	root := benchTree(b)
	tarBench(b, []string{os.Args[0], "-test.run=^TestWriteTarHelperProcess$"}, []string{tarHelperEnv + "=" + root})
}

// BenchmarkGNUTar100k is `tar -c -C root .` on the same tree, its output read through a pipe.
func BenchmarkGNUTar100k(b *testing.B) {
	root := benchTree(b)
	tarBench(b, []string{needGNUTar(b), "-c", "--owner=1001", "--group=1001", "-C", root, "."}, nil)
}
