package tree

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// oddTree makes a tree of every kind of entry that is hard to carry and returns its root.
// Device nodes need CAP_MKNOD; without it they are left out and devices is false.
func oddTree(t *testing.T) (root string, devices bool) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "tree")
	files := map[string]string{
		"src/a.txt":             "hello\n",
		"src/zero":              "",
		"with space":            "sp\n",
		"-leading-dash":         "dash\n",
		"--":                    "dashes\n",
		"bad\xff\xfename":       "not UTF-8\n",
		"new\nline":             "newline\n",
		"cr\rname":              "carriage return\n",
		"build/out\nput/x.o":    "excluded, under a newline dir\n",
		"build/keep/ok.o":       "excluded, plain\n",
		"empty-parent/file.txt": "x",
	}
	for p, c := range files {
		mustT(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		mustT(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	mustT(t, os.MkdirAll(filepath.Join(root, "empty/nested"), 0o755))
	mustT(t, os.Link(filepath.Join(root, "src/a.txt"), filepath.Join(root, "hardlink")))
	mustT(t, os.Symlink("loop1", filepath.Join(root, "loop2")))
	mustT(t, os.Symlink("loop2", filepath.Join(root, "loop1")))
	mustT(t, os.Symlink("nowhere", filepath.Join(root, "dangling")))
	mustT(t, unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "sock"), Net: "unix"})
	mustT(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
	mustT(t, os.Truncate(mustCreate(t, filepath.Join(root, "sparse")), 4<<30))
	devices = unix.Mknod(filepath.Join(root, "chardev"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))) == nil
	if devices {
		mustT(t, unix.Mknod(filepath.Join(root, "blockdev"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
	}
	return root, devices
}

func mustT(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Create(p)
	mustT(t, err)
	f.Close()
	return p
}

// deepPath makes directories of long names under root until a child of the last one would
// need a host path of exactly total bytes, and returns that directory.
func deepPath(t *testing.T, root string, total int) string {
	t.Helper()
	dir := filepath.Join(root, "deep")
	mustT(t, os.Mkdir(dir, 0o755))
	for i := 0; total-len(dir)-1 > nameMax; i++ {
		dir = filepath.Join(dir, fmt.Sprintf("%03d", i)+strings.Repeat("d", 247))
		mustT(t, os.Mkdir(dir, 0o755))
	}
	return dir
}

// createAt makes an empty file name in dir through a descriptor of dir: its absolute path
// may be too long to create any other way.
func createAt(t *testing.T, dir, name string) {
	t.Helper()
	d, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	mustT(t, err)
	defer unix.Close(d)
	fd, err := unix.Openat(d, name, unix.O_CREAT|unix.O_WRONLY, 0o644)
	mustT(t, err)
	unix.Close(fd)
}

func summary(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %q %s fatal=%v excluded=%v", f.Kind, f.Rel, f.Type, f.Fatal, f.Excluded))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestSurveyOddTree(t *testing.T) {
	root, devices := oddTree(t)
	// One path that fits PATH_MAX exactly and one a byte too long.
	dir := deepPath(t, root, PathMax-1)
	fits := strings.Repeat("f", PathMax-1-len(dir)-1)
	createAt(t, dir, fits)
	long := filepath.Join(root, "long")
	mustT(t, os.Mkdir(long, 0o755))
	ldir := deepPath(t, long, PathMax)
	tooLong := strings.Repeat("g", PathMax-len(ldir)-1)
	createAt(t, ldir, tooLong)
	createAt(t, ldir, "short-sibling")
	if n := len(filepath.Join(dir, fits)); n != PathMax-1 {
		t.Fatalf("the fitting path is %d bytes, want %d", n, PathMax-1)
	}

	m, err := NewMatcher([]string{"build/*"})
	mustT(t, err)
	rep, err := Survey(context.Background(), root, m)
	mustT(t, err)

	rel := func(p string) string { r, _ := filepath.Rel(root, p); return r }
	want := []string{
		`special "fifo" fifo fatal=false excluded=false`,
		`special "sock" socket fatal=false excluded=false`,
		`newline "new\nline" file fatal=false excluded=false`,
		`newline "cr\rname" file fatal=false excluded=false`,
		`newline "build/out\nput" directory fatal=false excluded=true`,
		fmt.Sprintf(`long-path %q entry fatal=true excluded=false`, rel(filepath.Join(ldir, tooLong))),
	}
	if devices {
		want = append(want, `special "chardev" character device fatal=false excluded=false`,
			`special "blockdev" block device fatal=false excluded=false`)
	}
	sort.Strings(want)
	if got := summary(rep.Findings); got != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if rep.Longest != rel(filepath.Join(dir, fits)) {
		t.Errorf("longest %d bytes, want the %d-byte path that fits", len(rep.Longest), len(rel(filepath.Join(dir, fits))))
	}

	// Only the path that does not fit is fatal; a mountpoint longer than the root makes the
	// longest path too long in the guest.
	err = rep.Err("")
	if err == nil || !strings.Contains(err.Error(), "1 entries no method can carry") || !strings.Contains(err.Error(), "(entry, 4096 bytes on the host): system calls take paths of at most 4095 bytes") {
		t.Errorf("Err(\"\") = %v", err)
	}
	guestRoot := "/" + strings.Repeat("m", len(root)+5)
	if err := rep.Err(guestRoot); err == nil || !strings.Contains(err.Error(), "under the guest's mountpoint") {
		t.Errorf("Err(%d-byte mountpoint) = %v", len(guestRoot), err)
	}

	// Which findings concern a method is the method's to say (orchestrator/method has the
	// real ones); here carriers that refuse one kind each show the grouping and the text.
	special := func(f Finding) bool { return f.Kind == KindSpecial }
	keptNewline := func(f Finding) bool { return f.Kind == KindNewline && !f.Excluded }
	excludedNewline := func(f Finding) bool { return f.Kind == KindNewline && f.Excluded }
	nSpecial := 2
	if devices {
		nSpecial = 4
	}
	for _, tc := range []struct {
		c    fakeCarrier
		want []string // substrings of the warnings, in order
		n    int      // the number of warnings
	}{
		{fakeCarrier{name: "all"}, []string{"1 paths too long (", "bytes on the host)): system calls take paths of at most 4095 bytes"}, 1},
		{fakeCarrier{name: "no-special", refuses: special, why: "no-special leaves them out"},
			[]string{fmt.Sprintf("%d special entries (", nSpecial), "): no-special leaves them out", "1 paths too long"}, 2},
		{fakeCarrier{name: "no-newline", refuses: keptNewline},
			[]string{"2 names with a newline (", "): a name holding a newline: debugfs command files cannot name it", "paths too long"}, 2},
		{fakeCarrier{name: "no-excluded-newline", refuses: excludedNewline},
			[]string{"1 excluded names with a newline (\"build/out\\nput\" (directory)): an excluded path holding a newline: mksquashfs", "paths too long"}, 2},
		// A fatal finding is always there, with its own reason when the carrier has none.
		{fakeCarrier{name: "no-special-no-newline", refuses: func(f Finding) bool { return special(f) || keptNewline(f) }, why: "refused"},
			[]string{"special entries (", "): refused", "2 names with a newline", "): refused", "paths too long (", "): system calls take paths"}, 3},
	} {
		ws := rep.Warnings(tc.c)
		w := strings.Join(ws, "\n")
		at := 0
		for _, s := range tc.want {
			i := strings.Index(w[at:], s)
			if i < 0 {
				t.Errorf("%s warnings lack %q after byte %d:\n%s", tc.c.name, s, at, w)
				break
			}
			at += i + len(s)
		}
		if len(ws) != tc.n {
			t.Errorf("%s has %d warnings, want %d:\n%s", tc.c.name, len(ws), tc.n, w)
		}
	}
	for _, l := range rep.Lines() {
		t.Log(l)
	}
	if lines := rep.Lines(); len(lines) != 4 {
		t.Errorf("Lines() = %d lines, want one per kind (special, newline, excluded newline, long path):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	// Entries: everything after the exclusions but what is below the too-long path's
	// directory; Walk itself fails on that path.
	wantEntries := 9 + 5 + 7 + strings.Count(rel(dir), "/") + 1 + 1 + strings.Count(rel(ldir), "/") + 1
	if devices {
		wantEntries += 2
	}
	if rep.Entries != int64(wantEntries) {
		t.Errorf("entries = %d, want %d", rep.Entries, wantEntries)
	}
	if err := Walk(context.Background(), root, m, func(Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), "file name too long") {
		t.Errorf("Walk of the tree with a too-long path: %v; want it to fail as Survey predicts", err)
	}
}

// fakeCarrier carries every entry but those refuses picks, for which it gives why.
type fakeCarrier struct {
	name    string
	refuses func(Finding) bool
	why     string
}

func (c fakeCarrier) Name() string { return c.name }

func (c fakeCarrier) Carries(f Finding) (bool, string) {
	if c.refuses != nil && c.refuses(f) {
		return false, c.why
	}
	return true, ""
}

// TestSurveyUnreadable: a file without read permission and a directory without search
// permission are fatal findings for a user without CAP_DAC_OVERRIDE, named with their errors.
// As root the check runs with the effective uid switched to nobody's for the survey.
func TestSurveyUnreadable(t *testing.T) {
	root := t.TempDir()
	mustT(t, os.WriteFile(filepath.Join(root, "ok"), []byte("x"), 0o644))
	mustT(t, os.WriteFile(filepath.Join(root, "secret"), []byte("x"), 0o000))
	mustT(t, os.MkdirAll(filepath.Join(root, "closed/inside"), 0o755))
	mustT(t, os.Chmod(filepath.Join(root, "closed"), 0o300))
	mustT(t, os.Chmod(root, 0o755))
	mustT(t, os.Chmod(filepath.Dir(root), 0o755))
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "closed"), 0o755) })

	survey := func() (Report, error) { return Survey(context.Background(), root, nil) }
	var rep Report
	var err error
	if os.Geteuid() == 0 {
		// As root nothing is unreadable.
		rep, err = survey()
		mustT(t, err)
		if len(rep.Findings) != 0 || rep.Err("") != nil {
			t.Errorf("as root: %v", rep.Findings)
		}
		mustT(t, syscall.Setresuid(-1, 65534, -1))
		rep, err = survey()
		if e := syscall.Setresuid(-1, 0, -1); e != nil {
			panic(e) // the rest of the tests would run as nobody
		}
	} else {
		rep, err = survey()
	}
	mustT(t, err)
	want := "unreadable \"closed\" directory fatal=true excluded=false\nunreadable \"secret\" file fatal=true excluded=false"
	if got := summary(rep.Findings); got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
	e := rep.Err("/root/tree")
	if e == nil || !strings.Contains(e.Error(), `"secret" (file, permission denied): the file cannot be read`) ||
		!strings.Contains(e.Error(), `"closed" (directory, permission denied): the directory cannot be listed`) {
		t.Errorf("Err = %v", e)
	}
}

func TestSurveyErrors(t *testing.T) {
	if _, err := Survey(context.Background(), filepath.Join(t.TempDir(), "missing"), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing root: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root, _ := oddTree(t)
	if _, err := Survey(ctx, root, nil); err == nil {
		t.Error("cancelled survey succeeded")
	}
}

// BenchmarkSurvey surveys the 100,000-file benchmark tree with a warm dentry cache: the cost
// the survey adds to every run before its cells.
func BenchmarkSurvey(b *testing.B) {
	root := benchTree(b)
	m, err := NewMatcher([]string{".git", "build/*", "!build/stage2cross"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		rep, err := Survey(ctx, root, m)
		if err != nil || rep.Entries == 0 {
			b.Fatal(rep.Entries, err)
		}
		b.ReportMetric(float64(rep.Entries), "entries")
	}
}

// TestSurveyLongNamesAndSymlinks: a kept name of 255 bytes is a long-name finding (an
// excluded one is not), and the kept symlinks are counted.
func TestSurveyLongNamesAndSymlinks(t *testing.T) {
	root := t.TempDir()
	long := strings.Repeat("n", 255)
	for _, d := range []string{"keep", "drop"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, d, long), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(long, filepath.Join(root, d, "link")); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewMatcher([]string{"drop"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Survey(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	var longs []string
	for _, f := range r.Findings {
		if f.Kind == KindLongName {
			longs = append(longs, f.Rel)
		}
	}
	if len(longs) != 1 || longs[0] != "keep/"+long || r.Symlinks != 1 {
		t.Errorf("long names %q, symlinks %d; want keep/<255 bytes> and 1", longs, r.Symlinks)
	}
}
