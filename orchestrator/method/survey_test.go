package method

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// surveyTree makes a tree with an entry of every kind some method cannot carry as it is: a
// FIFO, a socket, device nodes (with CAP_MKNOD; devices says whether they were made), kept
// names with a newline or carriage return, an excluded directory (under build/*) holding a
// newline, and a path one byte too long for PATH_MAX.
func surveyTree(t *testing.T) (root string, devices bool) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	root = filepath.Join(t.TempDir(), "tree")
	for p, c := range map[string]string{
		"src/a.txt": "hello\n", "new\nline": "newline\n", "cr\rname": "carriage return\n",
		"build/out\nput/x.o": "excluded, under a newline dir\n", "build/keep/ok.o": "excluded, plain\n",
	} {
		must(os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		must(os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	must(os.Symlink("src/a.txt", filepath.Join(root, "link")))
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "sock"), Net: "unix"})
	must(err)
	l.SetUnlinkOnClose(false)
	l.Close()
	devices = unix.Mknod(filepath.Join(root, "chardev"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 3))) == nil
	if devices {
		must(unix.Mknod(filepath.Join(root, "blockdev"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
	}

	// Directories of long names under long/, then a file whose host path is PATH_MAX bytes,
	// made through a descriptor of its directory (its absolute path is too long to use).
	dir := filepath.Join(root, "long")
	must(os.Mkdir(dir, 0o755))
	for i := 0; tree.PathMax-len(dir)-1 > 255; i++ {
		dir = filepath.Join(dir, fmt.Sprintf("%03d", i)+strings.Repeat("d", 247))
		must(os.Mkdir(dir, 0o755))
	}
	d, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(err)
	defer unix.Close(d)
	fd, err := unix.Openat(d, strings.Repeat("g", tree.PathMax-len(dir)-1), unix.O_CREAT|unix.O_WRONLY, 0o644)
	must(err)
	unix.Close(fd)
	return root, devices
}

// TestSurveyWarnings: the warnings each method gets from a survey of a tree with every kind
// of finding say what that method leaves out or cannot build, and why; a share or an image
// that carries everything gets only the fatal finding.
func TestSurveyWarnings(t *testing.T) {
	root, devices := surveyTree(t)
	m, err := tree.NewMatcher([]string{"build/*"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tree.Survey(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rep.Lines() {
		t.Log(l)
	}
	special := "2 special entries ("
	if devices {
		special = "4 special entries ("
	}
	tested := map[string]bool{}
	for _, tc := range []struct {
		method string
		want   []string // substrings of the warnings, in order
		n      int      // the number of warnings
	}{
		{"9p", []string{"paths too long"}, 1},
		{"virtiofs", []string{"paths too long"}, 1},
		{"erofs", []string{"paths too long"}, 1},
		{"squashfs", []string{"1 excluded names with a newline (\"build/out\\nput\" (directory)): an excluded path holding a newline: mksquashfs", "paths too long"}, 2},
		{"ssh-tar", []string{special, "ssh-tar's tar stream leaves them out", "paths too long"}, 2},
		{"serial-tar", []string{special, "serial-tar's tar stream leaves them out", "paths too long"}, 2},
		{"ext4", []string{special, "ext4 carries them when it reads the tree through a mount view", "2 names with a newline", "debugfs", "paths too long"}, 3},
	} {
		tested[tc.method] = true
		meth, err := Lookup(tc.method)
		if err != nil {
			t.Fatal(err)
		}
		ws := rep.Warnings(meth)
		w := strings.Join(ws, "\n")
		at := 0
		for _, s := range tc.want {
			i := strings.Index(w[at:], s)
			if i < 0 {
				t.Errorf("%s warnings lack %q after byte %d:\n%s", tc.method, s, at, w)
				break
			}
			at += i + len(s)
		}
		if len(ws) != tc.n {
			t.Errorf("%s has %d warnings, want %d:\n%s", tc.method, len(ws), tc.n, w)
		}
	}
	// A method without a line here (its own test covers its Carries) still warns of what
	// no method can carry.
	for _, name := range Names() {
		if tested[name] {
			continue
		}
		meth, _ := Lookup(name)
		if w := strings.Join(rep.Warnings(meth), "\n"); !strings.Contains(w, "paths too long") {
			t.Errorf("method %s does not warn of a path too long:\n%s", name, w)
		}
	}
}
