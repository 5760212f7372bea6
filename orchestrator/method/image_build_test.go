package method

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// needTool skips the test when a host tool is missing, unless CI is set: then it fails.
func needTool(t testing.TB, tools ...string) {
	t.Helper()
	testenv.Tool(t, tools...)
}

// needRoot skips a test that loop-mounts images or builds mount views when not root.
func needRoot(t testing.TB) {
	t.Helper()
	testenv.Root(t, "loop-mounting the built image to check it")
}

// trickyExclude are the seed's rules plus one per tricky name under src/ex/ (gitignore
// escapes: "\\[" for a literal bracket, "\\#" for a leading hash, "\\ " for a trailing blank).
var trickyExclude = []string{".git", "build/*", "!build/stage2cross",
	`src/ex/\[br]`, `src/ex/star\*`, `src/ex/\#hash`, "src/ex/ lead", `src/ex/back\\slash`, "src/ex/... dots",
	`src/ex/trail\ `, `src/ex/q"uote`, "src/ex/with space", "/... top"}

// trickyHidden are the top-most paths trickyExclude hides in trickyTree.
var trickyHidden = []string{"... top", ".git", "build/stage1", "build/stage2", "src/ex/ lead", "src/ex/#hash", "src/ex/... dots",
	"src/ex/[br]", `src/ex/back\slash`, `src/ex/q"uote`, "src/ex/star*", "src/ex/trail ", "src/ex/with space"}

// trickyTree makes a small tree with what image tools get wrong: names with blanks, quotes,
// backslashes, glob characters and a leading '#'; setuid and sticky bits; a read-only
// directory; short and long symlinks; hard links within the kept tree and from an excluded
// directory into it; excluded directories at two depths. Times are whole seconds, distinct
// per entry. Files are owned by the caller, except those owners lists.
func trickyTree(t *testing.T, owners map[string][2]int) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	files := map[string]string{
		"README.md":                       "read me\n",
		"... top":                         "would hide every top at any depth, unescaped\n",
		"top":                             "top\n",
		"llvm/top":                        "deeper top\n",
		"src/a.c":                         "int main(void) { return 0; }\n",
		"src/with space.c":                "space\n",
		"src/ lead":                       "leading blank\n",
		"src/trail ":                      "trailing blank\n",
		`src/q"uote`:                      "quote\n",
		`src/back\slash`:                  "backslash\n",
		"src/star*":                       "star\n",
		"src/star":                        "not the star\n",
		"src/#hash":                       "hash\n",
		"src/... dots":                    "dots\n",
		"src/[br]":                        "bracket\n",
		"src/b":                           "b, which [br] would match as a pattern\n",
		"src/setuid":                      "#!/bin/sh\n",
		"src/ro/file":                     "in a read-only directory\n",
		"src/big.bin":                     strings.Repeat("0123456789abcdef", 40000),
		"src/empty":                       "",
		".git/objects/aa/bb":              "git object\n",
		".git/HEAD":                       "ref: refs/heads/main\n",
		"build/stage1/bin/clang":          "stage1 clang\n",
		"build/stage2/lib/libLLVM.a":      "stage2 lib\n",
		"build/stage2cross/bin/clang":     "cross clang\n",
		"build/stage2cross/test/lit.cfg":  "config\n",
		"build/stage2cross/test/#notes":   "notes\n",
		"build/stage2cross/test/.hidden":  "dot file\n",
		"llvm/lib/Support/Path.cpp":       "path\n",
		"llvm/test/CodeGen/X86/add.ll":    "; add\n",
		"llvm/test/CodeGen/X86/sub.ll":    "; sub\n",
		"llvm/test/CodeGen/X86/a b c.ll":  "; blanks\n",
		"llvm/test/CodeGen/RISCV/.keep":   "",
		"llvm/utils/lit/lit/__init__.py":  "# lit\n",
		"clang/include/clang/Basic/X.def": "X\n",
	}
	for rel, body := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{" lead", "#hash", "... dots", "[br]", `back\slash`, `q"uote`, "star", "trail ", "with space", "b"} {
		must(os.MkdirAll(filepath.Join(root, "src/ex", name), 0o755))
		must(os.WriteFile(filepath.Join(root, "src/ex", name, "f"), []byte(name), 0o644))
	}
	// Excluded files hard-linked to kept ones: the kept paths must stay.
	must(os.Link(filepath.Join(root, "README.md"), filepath.Join(root, "src/ex/star*")))
	must(os.Link(filepath.Join(root, "src/b"), filepath.Join(root, "src/ex/trail /b-link")))
	must(os.Link(filepath.Join(root, "src/a.c"), filepath.Join(root, "build/stage2cross/a-link.c")))
	must(os.Link(filepath.Join(root, "README.md"), filepath.Join(root, "build/stage1/README-link")))
	must(os.Link(filepath.Join(root, "llvm/lib/Support/Path.cpp"), filepath.Join(root, ".git/Path-link")))
	must(os.Symlink("a.c", filepath.Join(root, "src/short-link")))
	must(os.Symlink(strings.Repeat("../", 30)+"target", filepath.Join(root, "src/long-link")))
	must(os.Symlink("../../../src", filepath.Join(root, "build/stage2cross/test/src")))
	must(os.MkdirAll(filepath.Join(root, "llvm/empty-dir"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "build/stage1/empty"), 0o755))
	must(unix.Chmod(filepath.Join(root, "src/setuid"), 0o4755))
	must(unix.Chmod(filepath.Join(root, "llvm/test"), 0o1775))
	must(unix.Chmod(filepath.Join(root, "llvm/utils"), 0o2750))
	for rel, o := range owners {
		must(os.Lchown(filepath.Join(root, rel), o[0], o[1]))
	}
	// Distinct whole-second times, deepest first so that setting them sticks.
	var paths []string
	must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}))
	base := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := len(paths) - 1; i >= 0; i-- {
		ts := unix.NsecToTimespec(base.Add(time.Duration(i) * time.Hour).UnixNano())
		must(unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
	must(os.Chmod(filepath.Join(root, "src/ro"), 0o555))
	must(os.Chmod(root, 0o750))
	return root
}

// treeText describes the tree at root, without what m excludes, one line per entry and one
// for the root: path, type and permission bits, owner, size, content hash or link target,
// mtime in seconds, and for the second and later paths of a hard-linked file the first
// path. With owner set, every owner is shown as owner (what an image should show).
func treeText(t *testing.T, root string, m *tree.Matcher, owner *tree.Owner) string {
	t.Helper()
	var lines []string
	first := map[[2]uint64]string{}
	line := func(rel, abs string) {
		var st unix.Stat_t
		if err := unix.Lstat(abs, &st); err != nil {
			t.Fatal(err)
		}
		uid, gid := int(st.Uid), int(st.Gid)
		if owner != nil {
			uid, gid = owner.UID, owner.GID
		}
		what := ""
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			what = fmt.Sprintf("%d %x", len(b), sha256.Sum256(b))
			key := [2]uint64{st.Dev, st.Ino}
			if f, ok := first[key]; ok {
				what += " =" + f
			} else {
				first[key] = rel
			}
		case unix.S_IFLNK:
			target, err := os.Readlink(abs)
			if err != nil {
				t.Fatal(err)
			}
			what = "-> " + target
		}
		lines = append(lines, fmt.Sprintf("%q %06o %d:%d %s @%d", rel, st.Mode, uid, gid, what, st.Mtim.Sec))
	}
	line(".", root)
	err := tree.Walk(context.Background(), root, m, func(e tree.Entry) error {
		line(e.Rel, e.Abs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// treeState hashes content, modes and mtimes (to the nanosecond) of every entry of the
// whole tree: it must not change while images are built from it.
func treeState(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %o %d:%d %d.%09d %d\n", p, st.Mode, st.Uid, st.Gid, st.Mtim.Sec, st.Mtim.Nsec, st.Size)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// mountImage loop-mounts image read-only at a new directory until the test ends.
func mountImage(t *testing.T, image, fstype string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", fstype, "-o", "loop,ro", image, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount %s: %v\n%s", image, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// hostConfig is the Config of a cell building from root into a fresh work directory, the way
// the runner makes it.
func hostConfig(t *testing.T, root string, params Params, owner *tree.Owner) (Config, Env, *bytes.Buffer) {
	t.Helper()
	m, err := tree.NewMatcher(trickyExclude)
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := tree.ExcludedRoots(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	log := &bytes.Buffer{}
	c := Config{Params: params, Tree: root, Work: work, Sockets: t.TempDir(), Hidden: hidden, Exclude: trickyExclude,
		Owner: owner, Mountpoint: "/root/tree"}
	return c, Env{Log: log, Matcher: m}, log
}

// runSteps runs every host step of the method as the runner does.
func runSteps(t *testing.T, m Method, c Config, env Env) {
	t.Helper()
	if c.Size.Inodes == 0 { // as the host probe measures it
		ts, err := MeasureTree(context.Background(), c.Tree, env.Matcher)
		if err != nil {
			t.Fatal(err)
		}
		c.Size = ts
	}
	c = withTools(m, c)
	for _, s := range planOf(m, c).Steps {
		undo, err := runStep(context.Background(), s, env)
		if undo != nil {
			undo()
		}
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", s.Desc, err, env.Log)
		}
	}
}

// sortedLines makes a diff of two treeText outputs readable.
func diffLines(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var out []string
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestImagesHoldExactlyTheFilteredTree builds each image method's image from the tricky
// tree and compares the mounted image with the filtered tree, entry by entry: names, types,
// modes, owners, sizes, contents, link targets, mtimes (seconds) and hard links. The host
// tree must not change.
func TestImagesHoldExactlyTheFilteredTree(t *testing.T) {
	needTool(t, "mksquashfs", "mkfs.erofs", "mkfs.ext4", "debugfs")
	needRoot(t)
	owner := &tree.Owner{UID: 1001, GID: 1001}
	for _, tc := range []struct {
		method, fstype, image string
		params                Params
		owner                 *tree.Owner
	}{
		{"squashfs", "squashfs", "tree.sqfs", Params{"compression": "none", "block_size": int64(131072), "upper": "tmpfs"}, owner},
		{"squashfs", "squashfs", "tree.sqfs", Params{"compression": "zstd", "block_size": int64(4096), "upper": "tmpfs"}, nil},
		{"erofs", "erofs", "tree.erofs", Params{"compression": "none", "upper": "tmpfs"}, owner},
		{"erofs", "erofs", "tree.erofs", Params{"compression": "lz4hc", "upper": "tmpfs"}, nil},
		{"ext4", "ext4", "tree.ext4", Params{"size": "auto"}, owner},
		{"ext4", "ext4", "tree.ext4", Params{"size": "auto"}, nil},
		{"erofs", "erofs", "tree.erofs", Params{"compression": "none", "upper": "tmpfs", "device": "pmem"}, owner},
		{"ext4", "ext4", "tree.ext4", Params{"size": "auto", "device": "pmem"}, owner},
	} {
		t.Run(fmt.Sprintf("%s-%v-owner=%v-%v", tc.method, tc.params["compression"], tc.owner != nil, tc.params["device"]), func(t *testing.T) {
			root := trickyTree(t, nil)
			before := treeState(t, root)
			m, _ := Lookup(tc.method)
			c, env, log := hostConfig(t, root, tc.params, tc.owner)
			if got := strings.Join(c.Hidden, "|"); got != strings.Join(trickyHidden, "|") {
				t.Fatalf("excluded roots %q, want %q", c.Hidden, trickyHidden)
			}
			want := treeText(t, root, env.Matcher, tc.owner)
			runSteps(t, m, c, env)
			got := treeText(t, mountImage(t, filepath.Join(c.Work, tc.image), tc.fstype), nil, nil)
			if got != want {
				t.Errorf("the image differs from the filtered tree:\n%s\nlog:\n%s", diffLines(want, got), log)
			}
			if after := treeState(t, root); after != before {
				t.Errorf("building the image changed the host tree")
			}
		})
	}
}
