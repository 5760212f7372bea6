package debarchive

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
)

// Bundle is a program to take from Debian's archive with the shared libraries it needs, for
// a host whose own release lacks it (or has an older one).
type Bundle struct {
	Name     string   // its directory in the cache, e.g. "virtiofsd"
	Suites   []string // the suites whose main Packages indexes are searched, in order
	Want     []string // what to fetch, as dependency relations: "virtiofsd", "e2fsprogs (>= 1.47.1)"
	Programs []string // the programs it provides, as paths in the root: usr/libexec/virtiofsd
	// ForHost says the packages are built for the host's release (bookworm-backports on
	// Debian 12): a relation the host's installed packages satisfy, a wanted one included,
	// is left to the host, and the programs run with the host's loader. Otherwise the root
	// is self-contained: its own C library and loader, whatever the host has.
	ForHost bool
}

// ErrHostHas is returned (wrapped) by Ensure for a bundle built for the host when the host
// already has the program it would fetch.
var ErrHostHas = errors.New("the host's own packages serve")

// Package is a package unpacked in a root.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Suite   string `json:"suite"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"` // of the .deb
}

// Root is a bundle unpacked in the cache.
type Root struct {
	Dir      string    `json:"-"`        // the unpacked packages: Dir/usr/..., Dir/lib/...
	Bundle   string    `json:"bundle"`   // Bundle.Name
	Mirror   string    `json:"mirror"`   // the archive it came from
	Packages []Package `json:"packages"` // in the order they were resolved, wanted first
	Fetched  time.Time `json:"fetched"`
}

// stampName, beside the root's directory, says the root is complete and what it holds.
const stampName = "root.json"

// BundleDir is where bundle name's root lives in cacheDir.
func BundleDir(cacheDir, name string) string { return filepath.Join(cacheDir, "debroot", name) }

// Open returns the root of bundle name in cacheDir, or an error wrapping fs.ErrNotExist when
// it has not been fetched.
func Open(cacheDir, name string) (Root, error) {
	dir := BundleDir(cacheDir, name)
	b, err := os.ReadFile(filepath.Join(dir, stampName))
	if err != nil {
		return Root{}, fmt.Errorf("debian root %s: %w", name, err)
	}
	var r Root
	if err := json.Unmarshal(b, &r); err != nil {
		return Root{}, fmt.Errorf("debian root %s: %s: %w", name, stampName, err)
	}
	r.Dir = filepath.Join(dir, "root")
	return r, nil
}

// Version is the Debian version of the root's package name, "" if it has none.
func (r Root) Version(name string) string {
	for _, p := range r.Packages {
		if p.Name == name {
			return p.Version
		}
	}
	return ""
}

// Ensure fetches bundle b from mirror into cacheDir unless it is there (refresh fetches it
// anew) and returns its root. The packages come from the suites' Packages indexes, each .deb
// checked against the sha256 its index gives; the dependency closure follows Depends and
// Pre-Depends into shared-library packages (section libs) only. The root is unpacked in a
// temporary directory and renamed into place: a root is whole or absent.
func Ensure(ctx context.Context, cacheDir, mirror string, b Bundle, refresh bool, log io.Writer) (Root, error) {
	if log == nil {
		log = io.Discard
	}
	if r, err := Open(cacheDir, b.Name); err == nil && !refresh {
		return r, nil
	}
	darch, err := HostArch(ctx)
	if err != nil {
		return Root{}, err
	}
	t0 := time.Now()
	var idx []suiteIndex
	for _, s := range b.Suites {
		url := PackagesURL(mirror, s, "main", darch)
		t := time.Now()
		pk, err := Index(ctx, url)
		if err != nil {
			return Root{}, err
		}
		fmt.Fprintf(log, "%s: %s: %d packages (%s)\n", b.Name, url, len(pk), time.Since(t).Round(time.Millisecond))
		idx = append(idx, suiteIndex{s, pk})
	}
	host := hostSatisfies
	if !b.ForHost {
		host = nil
	} else if top, err := parseDepends(b.Want[0]); err == nil && hostSatisfies(top[0][0]) {
		return Root{}, fmt.Errorf("%s: %w: it has %s", b.Name, ErrHostHas, b.Want[0])
	}
	pkgs, err := resolve(idx, b.Want, host)
	if err != nil {
		return Root{}, fmt.Errorf("%s: %w", b.Name, err)
	}
	dir := BundleDir(cacheDir, b.Name)
	store := filepath.Join(cacheDir, "debroot", "downloads")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return Root{}, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+b.Name+"-")
	if err != nil {
		return Root{}, err
	}
	defer os.RemoveAll(tmp)
	r := Root{Bundle: b.Name, Mirror: mirror, Fetched: time.Now().UTC().Truncate(time.Second)}
	var total int64
	for _, p := range pkgs {
		deb := filepath.Join(store, filepath.Base(p.st["Filename"]))
		t := time.Now()
		if err := Fetch(ctx, mirror+"/"+p.st["Filename"], deb, p.st["SHA256"]); err != nil {
			return Root{}, err
		}
		var size int64
		fmt.Sscan(p.st["Size"], &size)
		total += size
		fmt.Fprintf(log, "%s: %s %s from %s (%.1f MiB, %s)\n", b.Name, p.st["Package"], p.st["Version"], p.suite,
			float64(size)/(1<<20), time.Since(t).Round(time.Millisecond))
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, filepath.Join(tmp, "root")).CombinedOutput(); err != nil {
			return Root{}, fmt.Errorf("%s: dpkg-deb -x %s: %w: %s", b.Name, deb, err, strings.TrimSpace(string(out)))
		}
		r.Packages = append(r.Packages, Package{Name: p.st["Package"], Version: p.st["Version"], Suite: p.suite, SHA256: p.st["SHA256"], Size: size})
	}
	r.Dir = filepath.Join(tmp, "root")
	for _, prog := range b.Programs {
		if _, err := r.Command(prog); err != nil {
			return Root{}, fmt.Errorf("%s: %w", b.Name, err)
		}
	}
	stamp, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return Root{}, err
	}
	if err := atomicfile.WriteFile(filepath.Join(tmp, stampName), append(stamp, '\n'), 0o644); err != nil {
		return Root{}, err
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Root{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return Root{}, err
	}
	os.RemoveAll(old)
	n, size := treeSize(filepath.Join(dir, "root"))
	fmt.Fprintf(log, "%s: %d packages (%.1f MiB of .deb) unpacked into %s (%d files, %.1f MiB) in %s\n", b.Name, len(pkgs),
		float64(total)/(1<<20), dir, n, float64(size)/(1<<20), time.Since(t0).Round(time.Millisecond))
	return Open(cacheDir, b.Name)
}

func treeSize(dir string) (files int, bytes int64) {
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				files, bytes = files+1, bytes+fi.Size()
			}
		}
		return nil
	})
	return files, bytes
}

// Command is how program (a path in the root, e.g. usr/libexec/virtiofsd) runs on this host:
// through the loader its ELF header names, the root's own when the root has one, else the
// host's, with the root's library directories searched first (also by dlopen). The program is
// never run directly: a self-contained root's C library is newer than the host's.
func (r Root) Command(program string) ([]string, error) {
	prog := filepath.Join(r.Dir, program)
	f, err := elf.Open(prog)
	if err != nil {
		return nil, fmt.Errorf("debian root: %w", err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, fmt.Errorf("debian root: %s: %w", prog, err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return nil, fmt.Errorf("debian root: %s names no loader (PT_INTERP)", prog)
	}
	loader := interp
	// Merged-/usr releases ship /lib64/ld-linux-x86-64.so.2 as usr/lib64/...
	for _, c := range []string{filepath.Join(r.Dir, interp), filepath.Join(r.Dir, "usr", interp)} {
		if real, err := filepath.EvalSymlinks(c); err == nil && strings.HasPrefix(real, r.Dir+"/") {
			loader = real
			break
		}
	}
	var libs []string
	for _, pat := range []string{"usr/lib/*-linux-*", "lib/*-linux-*"} {
		m, _ := filepath.Glob(filepath.Join(r.Dir, pat))
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				libs = append(libs, d)
			}
		}
	}
	argv := []string{loader}
	if len(libs) > 0 {
		argv = append(argv, "--library-path", strings.Join(libs, ":"))
	}
	return append(argv, prog), nil
}

// HostArch is the host's Debian architecture (dpkg --print-architecture).
func HostArch(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "dpkg", "--print-architecture").Output()
	if err != nil {
		return "", fmt.Errorf("debian root: dpkg --print-architecture: %w (a root of Debian packages needs a Debian host)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

type suiteIndex struct {
	suite string
	pkgs  map[string]Stanza
}

type resolved struct {
	suite string
	st    Stanza
}

// relation is one alternative of a dependency: "libc6 (>= 2.34)" or "libcom-err2".
type relation struct{ name, op, version string }

var relRE = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?`)

// parseDepends splits a Depends field into its relations, each a list of alternatives.
func parseDepends(field string) ([][]relation, error) {
	var out [][]relation
	for _, part := range strings.Split(field, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var alts []relation
		for _, a := range strings.Split(part, "|") {
			m := relRE.FindStringSubmatch(strings.TrimSpace(a))
			if m == nil {
				return nil, fmt.Errorf("cannot read the relation %q", a)
			}
			alts = append(alts, relation{m[1], m[2], m[3]})
		}
		out = append(out, alts)
	}
	return out, nil
}

// resolve returns the packages to fetch for want: each wanted relation and, through Depends
// and Pre-Depends, the shared-library packages they need. host, when not nil, says that the
// host satisfies a relation, which is then not fetched. The wanted packages come first, the
// rest sorted by name.
func resolve(idx []suiteIndex, want []string, host func(relation) bool) ([]resolved, error) {
	find := func(r relation) (resolved, bool) {
		for _, s := range idx {
			if st, ok := s.pkgs[r.name]; ok {
				return resolved{s.suite, st}, true
			}
		}
		return resolved{}, false
	}
	var first, rest []resolved
	seen := map[string]bool{}
	var visit func(rels [][]relation, top bool) error
	visit = func(rels [][]relation, top bool) error {
		for _, alts := range rels {
			var pick *resolved
			done := false
			for _, a := range alts {
				if seen[a.name] || host != nil && host(a) {
					done = true
					break
				}
				if p, ok := find(a); ok && pick == nil {
					pick = &p
				}
			}
			if done {
				continue
			}
			if pick == nil {
				return fmt.Errorf("no suite has %s", alts[0].name)
			}
			if !top && pick.st["Section"] != "libs" {
				continue // a program or data the libraries do not need (uidmap, logsave)
			}
			seen[pick.st["Package"]] = true
			if top {
				first = append(first, *pick)
			} else {
				rest = append(rest, *pick)
			}
			deps, err := parseDepends(pick.st["Pre-Depends"] + "," + pick.st["Depends"])
			if err != nil {
				return fmt.Errorf("%s: %w", pick.st["Package"], err)
			}
			if err := visit(deps, false); err != nil {
				return err
			}
		}
		return nil
	}
	top, err := parseDepends(strings.Join(want, ","))
	if err != nil {
		return nil, err
	}
	if err := visit(top, true); err != nil {
		return nil, err
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].st["Package"] < rest[j].st["Package"] })
	return append(first, rest...), nil
}

// hostSatisfies says whether the host's installed packages (dpkg-query) satisfy r.
func hostSatisfies(r relation) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", r.name).Output()
	if err != nil {
		return false
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "ii" {
		return false
	}
	if r.op == "" {
		return true
	}
	return exec.Command("dpkg", "--compare-versions", f[1], r.op, r.version).Run() == nil
}

// Holding returns the fetched root in cacheDir that holds the file path, and path relative
// to the root, or ok false when no bundle's root holds it.
func Holding(cacheDir, path string) (r Root, program string, ok bool) {
	for _, name := range Names() {
		r, err := Open(cacheDir, name)
		if err != nil {
			continue
		}
		if rel, found := strings.CutPrefix(path, r.Dir+"/"); found {
			return r, rel, true
		}
	}
	return Root{}, "", false
}

// Program is where the fetched root of bundle name in cacheDir has program (a path in the
// root, e.g. sbin/mke2fs), or "" when that bundle is not fetched.
func Program(cacheDir, name, program string) string {
	r, err := Open(cacheDir, name)
	if err != nil {
		return ""
	}
	p := filepath.Join(r.Dir, program)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// Origin describes the root's first package for a cell's record, e.g. "virtiofsd
// 1.13.2-1+deb13u1 from Debian trixie, fetched into /root/.cache/vmfsbench/debroot/virtiofsd".
func (r Root) Origin() string {
	if len(r.Packages) == 0 {
		return "an empty root at " + r.Dir
	}
	p := r.Packages[0]
	return fmt.Sprintf("%s %s from Debian %s, fetched into %s", p.Name, p.Version, p.Suite, filepath.Dir(r.Dir))
}

// Names are the bundles' names, sorted.
func Names() []string {
	var n []string
	for k := range Bundles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
