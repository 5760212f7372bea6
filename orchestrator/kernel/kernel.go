// Package kernel finds the guest kernel: it fetches Debian 12's standard kernel image package
// into a per-user cache, finds the newest cached one, or wraps a kernel the user supplies.
//
// Cache layout, under CacheDir():
//
//	kernels/<arch>/<version>/vmlinuz
//	kernels/<arch>/<version>/lib/modules/<version>/   (the module tree, with modules.dep)
//	apt/<debian arch>/                                (private apt lists, see Fetch)
//
// Each version directory is complete or absent: Fetch builds it under a temporary name and
// renames it into place, so `modprobe -d kernels/<arch>/<version>` works on it as a root.
package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
)

// Kernel is a guest kernel image and its module tree.
type Kernel struct {
	// Arch is the guest architecture (x86_64, aarch64); empty for FromPaths kernels.
	Arch string
	// Version is the kernel release, the name of the lib/modules directory (6.1.0-56-amd64).
	Version string
	// Vmlinuz is the kernel image handed to QEMU's -kernel.
	Vmlinuz string
	// ModulesDir is the lib/modules/<Version> directory holding modules.dep.
	ModulesDir string
	// Package is the Debian package it came from; empty for FromPaths kernels.
	Package string
}

// ErrNoKernel is returned (wrapped) by Find when no kernel is cached for the arch.
var ErrNoKernel = errors.New("no cached kernel")

// ErrUnsupportedArch is returned (wrapped) by Fetch for an arch Debian 12 has no kernel for.
var ErrUnsupportedArch = errors.New("no Debian 12 kernel for this arch")

// debianArch returns Debian's name of the arch named name, or an error wrapping
// ErrUnsupportedArch when Debian 12 has no kernel for it.
func debianArch(name string) (string, error) {
	a, err := arch.Lookup(name)
	if err != nil || !a.Debian12 && a.KernelSuite == "" {
		return "", fmt.Errorf("%w: %q (Debian 12 has %s kernels; give guest.kernel and guest.modules instead)", ErrUnsupportedArch, name, strings.Join(arch.Debian12Names(), " and "))
	}
	return a.Debian, nil
}

// CacheDir returns vmfsbench's cache directory: $XDG_CACHE_HOME/vmfsbench when
// XDG_CACHE_HOME is set to an absolute path, else $HOME/.cache/vmfsbench. It does not create it.
func CacheDir() (string, error) {
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "vmfsbench"), nil
	}
	home := os.Getenv("HOME")
	if home == "" || !filepath.IsAbs(home) {
		return "", errors.New("cache dir: neither XDG_CACHE_HOME nor HOME is set to an absolute path")
	}
	return filepath.Join(home, ".cache", "vmfsbench"), nil
}

// Cached returns the newest kernel for arch in the user's cache (CacheDir); Fetch puts it
// there.
func Cached(arch string) (Kernel, error) {
	cache, err := CacheDir()
	if err != nil {
		return Kernel{}, err
	}
	return Find(cache, arch)
}

func archDir(cacheDir, arch string) string { return filepath.Join(cacheDir, "kernels", arch) }

// Find returns the newest kernel cached under cacheDir for arch. When there is none the error
// wraps ErrNoKernel and says how to fetch one.
func Find(cacheDir, arch string) (Kernel, error) {
	dir := archDir(cacheDir, arch)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Kernel{}, fmt.Errorf("find kernel: %w", err)
	}
	var found []Kernel
	for _, e := range ents {
		// Dot names are Fetch's work in progress.
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		k, err := cached(cacheDir, arch, e.Name())
		if err != nil {
			continue // incomplete or foreign directory: not a kernel
		}
		found = append(found, k)
	}
	if len(found) == 0 {
		return Kernel{}, fmt.Errorf("%w for %s in %s: run `vmfsbench kernel fetch --arch %s` or set guest.kernel and guest.modules", ErrNoKernel, arch, dir, arch)
	}
	sort.Slice(found, func(i, j int) bool { return versionLess(found[i].Version, found[j].Version) })
	return found[len(found)-1], nil
}

// cached returns the kernel stored in cacheDir/kernels/arch/version, or an error when that
// directory is not a complete kernel.
func cached(cacheDir, arch, version string) (Kernel, error) {
	root := filepath.Join(archDir(cacheDir, arch), version)
	k := Kernel{
		Arch:       arch,
		Version:    version,
		Vmlinuz:    filepath.Join(root, "vmlinuz"),
		ModulesDir: filepath.Join(root, "lib", "modules", version),
	}
	if err := checkKernel(k.Vmlinuz, k.ModulesDir); err != nil {
		return Kernel{}, err
	}
	// The package name is recorded by Fetch; a missing file only loses that detail.
	if b, err := os.ReadFile(filepath.Join(root, "package")); err == nil {
		k.Package = strings.TrimSpace(string(b))
	}
	return k, nil
}

// FromPaths wraps a user-supplied kernel image and its lib/modules/<version> directory. The
// version is the directory's name; the directory must hold modules.dep (run depmod if not).
func FromPaths(vmlinuz, modulesDir string) (Kernel, error) {
	vmlinuz, modulesDir = filepath.Clean(vmlinuz), filepath.Clean(modulesDir)
	if err := checkKernel(vmlinuz, modulesDir); err != nil {
		return Kernel{}, err
	}
	return Kernel{Version: filepath.Base(modulesDir), Vmlinuz: vmlinuz, ModulesDir: modulesDir}, nil
}

func checkKernel(vmlinuz, modulesDir string) error {
	fi, err := os.Stat(vmlinuz)
	if err != nil {
		return fmt.Errorf("kernel image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("kernel image %s: not a regular file", vmlinuz)
	}
	fi, err = os.Stat(modulesDir)
	if err != nil {
		return fmt.Errorf("kernel modules: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("kernel modules %s: not a directory", modulesDir)
	}
	if _, err := os.Stat(filepath.Join(modulesDir, "modules.dep")); err != nil {
		return fmt.Errorf("kernel modules %s: no modules.dep (run depmod): %w", modulesDir, err)
	}
	return nil
}

// versionLess orders kernel releases numerically where they hold digits, so 6.1.0-56 sorts
// after 6.1.0-9 and 6.10 after 6.9.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		ra, rb := leadingRun(a), leadingRun(b)
		if ra != rb {
			da, db := unicode.IsDigit(rune(ra[0])), unicode.IsDigit(rune(rb[0]))
			if da && db {
				na, nb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
				if len(na) != len(nb) {
					return len(na) < len(nb)
				}
				if na != nb {
					return na < nb
				}
			} else {
				return ra < rb
			}
		}
		a, b = a[len(ra):], b[len(rb):]
	}
	if a == "" && b == "" {
		return false
	}
	return a == ""
}

// leadingRun returns the leading run of digits or of non-digits of a non-empty s.
func leadingRun(s string) string {
	digit := unicode.IsDigit(rune(s[0]))
	i := 1
	for i < len(s) && unicode.IsDigit(rune(s[i])) == digit {
		i++
	}
	return s[:i]
}
