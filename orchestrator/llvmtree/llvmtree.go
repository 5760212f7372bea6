// Package llvmtree lays out a real LLVM tree as the study had one: the source of an LLVM
// release from Debian's archive as llvm-project/, and beside it build/stage2cross/ as a
// cross build leaves it, whose bin/ holds Debian's build of that release for the guest's
// architecture (opt, llc, FileCheck, not, count, yaml2obj, ...), lib/ its libLLVM, bin/llvm-lit
// the tree's own llvm/utils/lit, and test/lit.site.cfg.py with paths relative to itself, so
// that `../bin/llvm-lit -sv .` run from build/stage2cross/test wherever the tree is mounted
// runs LLVM's own llvm/test with every tool loaded from the tree. Other build/* directories
// hold real content for the exclusions to drop.
package llvmtree

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/debarchive"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
)

// Release is an LLVM release Debian ships: the suite whose archive has its source and its
// tools.
type Release struct {
	Major int
	Suite string
}

// Releases are the LLVM releases a tree can be made of: 15 from Debian 12 (amd64, arm64), 19
// from Debian 13 (also riscv64).
var Releases = map[int]Release{15: {15, "bookworm"}, 19: {19, "trixie"}}

// target is what LLVM's build calls a guest architecture.
type target struct {
	triple  string // the host triple of a build on that architecture
	native  string // LLVM's name of the native target
	libDirs string // Debian's multiarch library directory
}

var targets = map[string]target{
	"x86_64":  {"x86_64-pc-linux-gnu", "X86", "x86_64-linux-gnu"},
	"aarch64": {"aarch64-unknown-linux-gnu", "AArch64", "aarch64-linux-gnu"},
	"riscv64": {"riscv64-unknown-linux-gnu", "RISCV", "riscv64-linux-gnu"},
}

// Options say which tree to make.
type Options struct {
	Major  int       // the LLVM release (15, 19)
	Arch   string    // the guest architecture whose tools go into build/stage2cross
	Mirror string    // the Debian archive; "" takes the host apt's for the release's suite
	Log    io.Writer // progress
}

// Tree is a laid-out tree.
type Tree struct {
	Dir     string // the tree's root: llvm/, build/stage2cross/, ...
	Version string // the source's upstream version, e.g. 15.0.6
	Tools   string // the Debian version of the tools' packages
}

// Dir is where the tree of o goes in cacheDir.
func Dir(cacheDir string, major int, archName string) string {
	return filepath.Join(cacheDir, "llvm", fmt.Sprintf("%d-%s", major, archName), "llvm-project")
}

// Ensure makes the tree of o in cacheDir once and returns it: the source tarball named by the
// suite's Sources index (its sha256 checked), unpacked, and the tools of the guest
// architecture's llvm-N, llvm-N-tools and libllvmN packages (each checked against the
// Packages index). A tree already there is returned as it is.
func Ensure(ctx context.Context, cacheDir string, o Options) (Tree, error) {
	rel, ok := Releases[o.Major]
	if !ok {
		return Tree{}, fmt.Errorf("llvm: no LLVM %d here (releases: 15 from Debian 12, 19 from Debian 13)", o.Major)
	}
	a, err := arch.Lookup(o.Arch)
	if err != nil {
		return Tree{}, err
	}
	tg := targets[a.Name]
	if rel.Suite == "bookworm" && !a.Debian12 {
		return Tree{}, fmt.Errorf("llvm: Debian 12 has no %s tools of LLVM %d; take LLVM 19 (Debian 13)", a.Name, o.Major)
	}
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	dir := Dir(cacheDir, o.Major, a.Name)
	if t, err := readStamp(dir); err == nil {
		return t, nil
	}
	mirror := o.Mirror
	if mirror == "" {
		if mirror, err = rootfs.HostMirror("/etc/apt", rel.Suite); err != nil {
			return Tree{}, err
		}
	}
	store := filepath.Join(cacheDir, "llvm", "downloads")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return Tree{}, err
	}
	src := fmt.Sprintf("llvm-toolchain-%d", o.Major)
	sources, err := debarchive.Index(ctx, mirror+"/dists/"+rel.Suite+"/main/source/Sources.xz")
	if err != nil {
		return Tree{}, err
	}
	orig, err := origTarball(sources, src)
	if err != nil {
		return Tree{}, err
	}
	fmt.Fprintf(log, "llvm: source %s (%d bytes)\n", orig.name, orig.size)
	tarball := filepath.Join(store, orig.name)
	if err := debarchive.Fetch(ctx, mirror+"/"+orig.dir+"/"+orig.name, tarball, orig.sha256); err != nil {
		return Tree{}, err
	}
	pkgs, err := debarchive.Index(ctx, debarchive.PackagesURL(mirror, rel.Suite, "main", a.Debian))
	if err != nil {
		return Tree{}, err
	}
	var debs []string
	var toolsVersion string
	for _, name := range []string{fmt.Sprintf("llvm-%d", o.Major), fmt.Sprintf("llvm-%d-tools", o.Major), fmt.Sprintf("libllvm%d", o.Major)} {
		p, ok := pkgs[name]
		if !ok {
			return Tree{}, fmt.Errorf("llvm: %s/%s has no package %s for %s", mirror, rel.Suite, name, a.Debian)
		}
		deb := filepath.Join(store, filepath.Base(p["Filename"]))
		fmt.Fprintf(log, "llvm: %s %s\n", name, p["Version"])
		if err := debarchive.Fetch(ctx, mirror+"/"+p["Filename"], deb, p["SHA256"]); err != nil {
			return Tree{}, err
		}
		debs, toolsVersion = append(debs, deb), p["Version"]
	}

	// Everything is made in a temporary directory beside the tree, renamed into place last.
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Tree{}, err
	}
	tmp, err := os.MkdirTemp(parent, ".make-")
	if err != nil {
		return Tree{}, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(log, "llvm: unpacking %s\n", orig.name)
	if err := run(ctx, tmp, "tar", "-xJf", tarball); err != nil {
		return Tree{}, err
	}
	top := filepath.Join(tmp, strings.TrimSuffix(orig.name, ".orig.tar.xz"))
	if _, err := os.Stat(top); err != nil {
		if top, err = onlyDir(tmp); err != nil {
			return Tree{}, err
		}
	}
	t := Tree{Dir: dir, Version: orig.upstream, Tools: toolsVersion}
	if err := layOutBuild(ctx, top, debs, o.Major, tg, t); err != nil {
		return Tree{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return Tree{}, err
	}
	if err := os.Rename(top, dir); err != nil {
		return Tree{}, err
	}
	if err := writeStamp(dir, t); err != nil {
		return Tree{}, err
	}
	fmt.Fprintf(log, "llvm: tree %s\n", dir)
	return t, nil
}

// layOutBuild makes build/stage2cross (and build/stage1, build/stage2 with real content for
// the exclusions) under root from the tools' packages.
func layOutBuild(ctx context.Context, root string, debs []string, major int, tg target, t Tree) error {
	x := filepath.Join(root, ".debs")
	defer os.RemoveAll(x)
	for _, deb := range debs {
		if err := run(ctx, "", "dpkg-deb", "-x", deb, x); err != nil {
			return err
		}
	}
	build := filepath.Join(root, "build", "stage2cross")
	bin, lib, test := filepath.Join(build, "bin"), filepath.Join(build, "lib"), filepath.Join(build, "test")
	for _, d := range []string{bin, lib, test} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	tools := filepath.Join(x, "usr", "lib", fmt.Sprintf("llvm-%d", major), "bin")
	ents, err := os.ReadDir(tools)
	if err != nil {
		return fmt.Errorf("llvm: the packages hold no tools: %w", err)
	}
	for _, e := range ents {
		if err := copyFile(filepath.Join(tools, e.Name()), filepath.Join(bin, e.Name())); err != nil {
			return err
		}
	}
	// The tools find libLLVM through their RUNPATH $ORIGIN/../lib: LLVM 15 names it
	// libLLVM-15.so.1, LLVM 19 libLLVM.so.19.1 (with a libLLVM-19.so link).
	libs, _ := filepath.Glob(filepath.Join(x, "usr", "lib", tg.libDirs, "libLLVM*.so*"))
	if len(libs) == 0 {
		return fmt.Errorf("llvm: libllvm%d holds no libLLVM", major)
	}
	for _, l := range libs {
		dst := filepath.Join(lib, filepath.Base(l))
		if target, err := os.Readlink(l); err == nil {
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		} else if err := copyFile(l, dst); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(bin, "llvm-lit"), []byte(litScript), 0o755); err != nil {
		return err
	}
	in, err := os.ReadFile(filepath.Join(root, "llvm", "test", "lit.site.cfg.py.in"))
	if err != nil {
		return fmt.Errorf("llvm: the source has no lit site config template: %w", err)
	}
	site, err := SiteConfig(string(in), t.Version, major, tg)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(test, "lit.site.cfg.py"), []byte(site), 0o644); err != nil {
		return err
	}
	// The other stages of a two-stage cross build, which the study's exclusions drop: the
	// same tools, hard-linked (real content, no extra space).
	for _, stage := range []string{"stage1", "stage2"} {
		d := filepath.Join(root, "build", stage, "bin")
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		for _, e := range ents {
			if err := os.Link(filepath.Join(bin, e.Name()), filepath.Join(d, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// litScript is build/stage2cross/bin/llvm-lit: the tree's own lit, as CMake's llvm-lit runs it.
const litScript = `#!/usr/bin/env python3
# llvm-lit of this tree (written by vmfsbench tree llvm): the source's llvm/utils/lit.
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, '..', '..', '..'))
sys.path.insert(0, os.path.join(root, 'llvm', 'utils', 'lit'))

# A test path in the source (llvm/test/...) runs with the build's site config, as with CMake's
# llvm-lit.
config_map = {
    os.path.normcase(os.path.join(root, 'llvm', 'test', 'lit.cfg.py')):
        os.path.join(root, 'build', 'stage2cross', 'test', 'lit.site.cfg.py'),
}

from lit.main import main

if __name__ == '__main__':
    main({'build_mode': '.', 'config_map': config_map})
`

// siteHeader defines path(), which CMake's header defines: a relative path is relative to the
// site config, so the tree works wherever the guest mounts it.
const siteHeader = `## Written by vmfsbench tree llvm from llvm/test/lit.site.cfg.py.in.
import os


def path(p):
    if not p or os.path.isabs(p):
        return p
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), p))
`

// SiteConfig fills LLVM's lit.site.cfg.py.in for the tree: paths relative to
// build/stage2cross/test, and the settings of Debian's build of that release (no assertions,
// shared libLLVM, zlib and libxml2, no OCaml, Go or plugins). A variable left unfilled is an
// error, so a new release's template cannot pass silently.
func SiteConfig(in, version string, major int, tg target) (string, error) {
	minor := "0"
	if f := strings.Split(version, "."); len(f) > 1 {
		minor = f[1]
	}
	vars := map[string]string{
		"LIT_SITE_CFG_IN_HEADER": siteHeader,
		"LLVM_HOST_TRIPLE":       tg.triple, "LLVM_TARGET_TRIPLE": tg.triple,
		"LLVM_SOURCE_DIR": "../../../llvm", "LLVM_BINARY_DIR": "..",
		"LLVM_TOOLS_DIR": "../bin", "LLVM_LIBS_DIR": "../lib", "SHLIBDIR": "../lib",
		"SHLIBEXT": ".so", "LLVM_PLUGIN_EXT": ".so", "EXEEXT": "",
		"LLVM_LIT_TOOLS_DIR": "", "LLVM_LIT_ERRC_MESSAGES": "",
		"Python3_EXECUTABLE": "/usr/bin/python3", "GOLD_EXECUTABLE": "", "LD64_EXECUTABLE": "",
		"CMAKE_OSX_SYSROOT": "", "OCAMLFIND": "OCAMLFIND-NOTFOUND", "HAVE_OCAMLOPT": "False", "OCAMLFLAGS": "",
		"LLVM_INCLUDE_GO_TESTS": "False", "GO_EXECUTABLE": "", "PXTAS_EXECUTABLE": "",
		"ENABLE_SHARED": "1", "ENABLE_ASSERTIONS": "0",
		"TARGETS_TO_BUILD": "AArch64;AMDGPU;ARM;AVR;BPF;Hexagon;Lanai;Mips;MSP430;NVPTX;PowerPC;RISCV;Sparc;SystemZ;VE;WebAssembly;X86;XCore",
		"LLVM_NATIVE_ARCH": tg.native, "LLVM_BINDINGS": "", "HOST_OS": "Linux", "HOST_CC": "cc", "HOST_CXX": "c++",
		"HOST_LDFLAGS": "", "LLVM_USE_INTEL_JITEVENTS": "0", "LLVM_USE_SANITIZER": "",
		"LLVM_ENABLE_ZLIB": "1", "LLVM_ENABLE_ZSTD": "0", "LLVM_HAVE_LIBXAR": "0", "LLVM_ENABLE_LIBXML2": "1",
		"LLVM_ENABLE_CURL": "0", "LLVM_ENABLE_HTTPLIB": "0", "LLVM_ENABLE_DIA_SDK": "0", "LLVM_ENABLE_FFI": "1",
		"LLVM_BUILD_EXAMPLES": "0", "LLVM_ENABLE_THREADS": "1", "BUILD_SHARED_LIBS": "0", "LLVM_LINK_LLVM_DYLIB": "1",
		"LLVM_VERSION_MAJOR": fmt.Sprint(major), "LLVM_VERSION_SUFFIX": "", "HOST_ARCH": strings.SplitN(tg.triple, "-", 2)[0],
		"LLVM_HAVE_OPT_VIEWER_MODULES": "0", "LLVM_LIBCXX_USED": "0", "LLVM_ENABLE_PLUGINS": "0",
		"LLVM_BYE_LINK_INTO_TOOLS": "0", "LLVM_HAVE_TF_AOT": "0", "LLVM_HAVE_TF_API": "0",
		"LLVM_INLINER_MODEL_AUTOGENERATED": "0", "LLVM_RAEVICT_MODEL_AUTOGENERATED": "0",
		"LLVM_ENABLE_EXPENSIVE_CHECKS": "0", "LLVM_INCLUDE_DXIL_TESTS": "0", "LLVM_TOOL_LLVM_DRIVER_BUILD": "0",
		"LLVM_HAVE_TFLITE": "0", "LLVM_ENABLE_REVERSE_ITERATION": "0", "LLVM_HAVE_HTTPLIB": "0",
		// LLVM 19's.
		"PTXAS_EXECUTABLE": "", "LLVM_VERSION_MINOR": minor, "LLVM_EXAMPLEIRTRANSFORMS_LINK_INTO_TOOLS": "0",
		"LLVM_INCLUDE_SPIRV_TOOLS_TESTS": "0", "LLVM_APPEND_VC_REV": "0", "LLVM_FORCE_VC_REVISION": "", "LLVM_HAS_LOGF128": "0",
	}
	var out strings.Builder
	var missing []string
	for rest := in; ; {
		i := strings.IndexByte(rest, '@')
		if i < 0 {
			out.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i+1:], '@')
		name := ""
		if j >= 0 {
			name = rest[i+1 : i+1+j]
		}
		if j < 0 || strings.ContainsAny(name, " \n\"'()") {
			out.WriteString(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		out.WriteString(rest[:i] + v)
		rest = rest[i+2+j:]
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("llvm: lit.site.cfg.py.in has variables vmfsbench does not fill: %s", strings.Join(missing, ", "))
	}
	return out.String(), nil
}

// origFile is a source package's upstream tarball.
type origFile struct {
	dir, name, sha256, upstream string
	size                        int64
}

// origTarball finds the .orig.tar.xz of the source package src in a Sources index.
func origTarball(sources map[string]debarchive.Stanza, src string) (origFile, error) {
	s, ok := sources[src]
	if !ok {
		return origFile{}, fmt.Errorf("llvm: the archive's Sources index has no %s", src)
	}
	for _, line := range strings.Split(s["Checksums-Sha256"], "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.HasSuffix(f[2], ".orig.tar.xz") {
			var size int64
			fmt.Sscan(f[1], &size)
			upstream := strings.TrimSuffix(strings.TrimPrefix(f[2], src+"_"), ".orig.tar.xz")
			return origFile{dir: s["Directory"], name: f[2], sha256: f[0], size: size, upstream: upstream}, nil
		}
	}
	return origFile{}, fmt.Errorf("llvm: %s has no .orig.tar.xz in the Sources index", src)
}

// copyFile copies a regular file (following a symlink) with its mode.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func onlyDir(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		return "", errors.New("llvm: the source tarball does not unpack to one directory")
	}
	return filepath.Join(dir, ents[0].Name()), nil
}

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("llvm: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// stampFile, beside the tree (not in it: the tree is what is measured), says the tree is
// complete and what it is.
const stampFile = "stamp"

func writeStamp(dir string, t Tree) error {
	return atomicfile.WriteFile(filepath.Join(filepath.Dir(dir), stampFile), []byte(t.Version+"\n"+t.Tools+"\n"), 0o644)
}

func readStamp(dir string) (Tree, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return Tree{}, fmt.Errorf("llvm: no tree at %s", dir)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), stampFile))
	if err != nil {
		return Tree{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		return Tree{}, fmt.Errorf("llvm: %s: malformed", stampFile)
	}
	return Tree{Dir: dir, Version: lines[0], Tools: lines[1]}, nil
}
