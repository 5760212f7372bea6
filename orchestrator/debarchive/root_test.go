package debarchive

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// trixie is a piece of Debian 13's Packages index as it is: the daemon needs a program
// package (uidmap) and libraries that depend on each other.
const trixie = `Package: virtiofsd
Version: 1.13.2-1+deb13u1
Section: admin
Depends: libc6 (>= 2.39), libcap-ng0 (>= 0.7.9), libgcc-s1 (>= 4.2), libseccomp2 (>= 0.0.0~20120605), uidmap
Filename: pool/main/v/virtiofsd/virtiofsd_1.13.2-1+deb13u1_amd64.deb

Package: libc6
Version: 2.41-12
Section: libs
Depends: libgcc-s1

Package: libgcc-s1
Version: 14.2.0-19
Section: libs
Depends: gcc-14-base (= 14.2.0-19), libc6 (>= 2.35)

Package: gcc-14-base
Version: 14.2.0-19
Section: libs

Package: libcap-ng0
Version: 0.8.5-4+b1
Section: libs
Depends: libc6 (>= 2.38)

Package: libseccomp2
Version: 2.6.0-2
Section: libs
Depends: libc6 (>= 2.14)

Package: uidmap
Version: 1:4.17.4-2
Section: admin
Depends: libc6 (>= 2.38), libsubid5
`

const backports = `Package: e2fsprogs
Version: 1.47.2-3~bpo12+1
Section: admin
Depends: logsave
Pre-Depends: libblkid1 (>= 2.36), libc6 (>= 2.34), libcom-err2 (>= 1.43.9), libext2fs2 (= 1.47.2-3~bpo12+1), libss2 (>= 1.38), libuuid1 (>= 2.16)

Package: libext2fs2
Version: 1.47.2-3~bpo12+1
Section: libs
Depends: libc6 (>= 2.34)

Package: libcom-err2
Version: 1.47.2-3~bpo12+1
Section: libs
Depends: libc6 (>= 2.17)

Package: libss2
Version: 1.47.2-3~bpo12+1
Section: libs
Depends: libcom-err2, libc6 (>= 2.34)

Package: logsave
Version: 1.47.2-3~bpo12+1
Section: admin
`

const bookworm = `Package: libarchive13
Version: 3.6.2-1+deb12u4
Section: libs
Depends: libacl1 (>= 2.2.23), libc6 (>= 2.36), libxml2 (>= 2.7.4) | libxml2-alt

Package: libxml2
Version: 2.9.14+dfsg-1.3~deb12u4
Section: libs
Depends: libc6 (>= 2.34)

Package: libacl1
Version: 2.3.1-3
Section: libs
`

func names(rs []resolved) []string {
	var n []string
	for _, r := range rs {
		n = append(n, r.suite+":"+r.st["Package"])
	}
	return n
}

// TestResolveSelfContained: a foreign release's program takes every library it needs, its C
// library included, once each, and no program packages (uidmap).
func TestResolveSelfContained(t *testing.T) {
	rs, err := resolve([]suiteIndex{{"trixie", ParseIndex([]byte(trixie))}}, []string{"virtiofsd"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"trixie:virtiofsd", "trixie:gcc-14-base", "trixie:libc6", "trixie:libcap-ng0", "trixie:libgcc-s1", "trixie:libseccomp2"}
	if got := names(rs); !reflect.DeepEqual(got, want) {
		t.Errorf("resolved %q, want %q", got, want)
	}
}

// TestResolveForHost: a package built for the host's release leaves to the host what it
// has at a version that satisfies the relation, and takes the rest from the suites in order.
func TestResolveForHost(t *testing.T) {
	installed := map[string]string{"libc6": "2.36", "libblkid1": "2.38", "libuuid1": "2.38", "libcom-err2": "1.47.0",
		"libss2": "1.47.0", "libext2fs2": "1.47.0", "libacl1": "2.3.1", "e2fsprogs": "1.47.0"}
	host := func(r relation) bool {
		v, ok := installed[r.name]
		switch {
		case !ok:
			return false
		case r.op == "":
			return true
		case r.op == "=":
			return v == r.version
		case r.op == ">=":
			return v >= r.version // good enough for these versions
		}
		return false
	}
	idx := []suiteIndex{{"bookworm-backports", ParseIndex([]byte(backports))}, {"bookworm", ParseIndex([]byte(bookworm))}}
	rs, err := resolve(idx, []string{"e2fsprogs (>= 1.47.1)", "libarchive13"}, host)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bookworm-backports:e2fsprogs", "bookworm:libarchive13", "bookworm-backports:libext2fs2", "bookworm:libxml2"}
	if got := names(rs); !reflect.DeepEqual(got, want) {
		t.Errorf("resolved %q, want %q", got, want)
	}
	if _, err := resolve(idx, []string{"nothing-like-it"}, host); err == nil || !strings.Contains(err.Error(), "nothing-like-it") {
		t.Errorf("a package no suite has: %v", err)
	}
}

func TestParseDepends(t *testing.T) {
	got, err := parseDepends("libc6 (>= 2.34), libxml2 (>= 2.7.4) | libxml2-alt, python3:any, libfoo (<<1.0)")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]relation{{{"libc6", ">=", "2.34"}}, {{"libxml2", ">=", "2.7.4"}, {"libxml2-alt", "", ""}},
		{{"python3", "", ""}}, {{"libfoo", "<<", "1.0"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseDepends("(>= 1)"); err == nil {
		t.Error("a relation without a name was read")
	}
}

// TestCommand runs a program through the loader its ELF header names: the root's own when
// the root has it (a foreign release), else the host's; the root's library directories come
// first. A real binary of the host stands for the program.
func TestCommand(t *testing.T) {
	host := "/bin/sh"
	root := t.TempDir()
	mustCopy(t, host, filepath.Join(root, "usr/bin/prog"))
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/x86_64-linux-gnu"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := Root{Dir: root}
	argv, err := r.Command("usr/bin/prog")
	if err != nil {
		t.Fatal(err)
	}
	if argv[0] == "" || strings.HasPrefix(argv[0], root) || argv[len(argv)-1] != filepath.Join(root, "usr/bin/prog") ||
		argv[1] != "--library-path" || argv[2] != filepath.Join(root, "usr/lib/x86_64-linux-gnu") {
		t.Errorf("a root without a loader: %q", argv)
	}
	// The root's own loader, where a merged-/usr release keeps it.
	mustCopy(t, argv[0], filepath.Join(root, "usr", argv[0]))
	argv2, err := r.Command("usr/bin/prog")
	if err != nil {
		t.Fatal(err)
	}
	if argv2[0] != filepath.Join(root, "usr", argv[0]) {
		t.Errorf("a root with its loader runs %q", argv2)
	}
	if _, err := r.Command("usr/bin/none"); err == nil {
		t.Error("a missing program has a command")
	}
	mustCopy(t, "root_test.go", filepath.Join(root, "notelf"))
	if _, err := r.Command("notelf"); err == nil {
		t.Error("a file that is no ELF program has a command")
	}
}

// TestHoldingAndOpen: a root is found by its stamp and by a path in it; none without one.
func TestHoldingAndOpen(t *testing.T) {
	cache := t.TempDir()
	if _, err := Open(cache, "virtiofsd"); err == nil {
		t.Error("a root that was never fetched opens")
	}
	dir := BundleDir(cache, "virtiofsd")
	if err := os.MkdirAll(filepath.Join(dir, "root", "usr", "libexec"), 0o755); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "root", "usr", "libexec", "virtiofsd")
	if err := os.WriteFile(prog, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if Program(cache, "virtiofsd", "usr/libexec/virtiofsd") != "" {
		t.Error("a root without its stamp is taken")
	}
	stamp := `{"bundle": "virtiofsd", "packages": [{"name": "virtiofsd", "version": "1.13.2-1", "suite": "trixie"}]}`
	if err := os.WriteFile(filepath.Join(dir, stampName), []byte(stamp), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Program(cache, "virtiofsd", "usr/libexec/virtiofsd"); got != prog {
		t.Errorf("Program = %q, want %q", got, prog)
	}
	r, rel, ok := Holding(cache, prog)
	if !ok || rel != "usr/libexec/virtiofsd" || r.Version("virtiofsd") != "1.13.2-1" ||
		!strings.HasPrefix(r.Origin(), "virtiofsd 1.13.2-1 from Debian trixie") {
		t.Errorf("Holding = %+v %q %v", r, rel, ok)
	}
	if _, _, ok := Holding(cache, "/usr/libexec/virtiofsd"); ok {
		t.Error("a host path is held by a root")
	}
}

func mustCopy(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
