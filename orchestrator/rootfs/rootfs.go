// Package rootfs builds the guest's root filesystem for real workloads: a Debian root made by
// debootstrap, with the packages a workload needs (by default python3 and LLVM 15's tools, for
// llvm-lit), packed into an ext4 image in the user cache.
//
// Cache layout, under the cache directory (kernel.CacheDir()):
//
//	rootfs/<arch>-<hash>.ext4   the image (complete or absent: renamed into place)
//	rootfs/<arch>-<hash>.json   its recipe and what was installed (see Image)
//	rootfs/debs/<debian arch>/  the .deb files debootstrap downloaded, reused by later builds
//
// The hash covers the recipe's arch, suite and packages and this package's own changes to the
// root (recipeVersion), not the mirror: every Debian mirror serves the same suite.
package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
)

// recipeVersion is part of every recipe hash: bump it whenever Build changes what it puts in
// an image (users, wrappers, paths), so images made by an older Build are not reused.
const recipeVersion = 1

// Defaults of a Recipe's empty fields.
const (
	DefaultArch  = arch.Default
	DefaultSuite = "bookworm"
)

// DefaultPackages are installed when a Recipe names none: Python and LLVM 15's tools, which
// is what llvm-lit and the tests of an LLVM build tree run (opt, llc, llvm-as, FileCheck, not,
// count and lit.py under /usr/lib/llvm-15/build/utils/lit).
var DefaultPackages = []string{"python3", "llvm-15", "llvm-15-tools"}

// TrixiePackages are installed in a Debian 13 root when a Recipe names none: Python and the
// libraries of LLVM 19's tools, which a tree made by `vmfsbench tree llvm --version 19` brings
// in its build/stage2cross (a riscv64 root is finished in an emulated guest: the fewer
// packages, the shorter that takes).
var TrixiePackages = []string{"python3", "libllvm19"}

// The guest user that owns the tree (the seed study's uid and gid 1001) and its home, where
// the tree is mounted.
const (
	User       = "user"
	UID        = 1001
	GID        = 1001
	Home       = "/home/user"
	Mountpoint = "/home/user/llvm-project"
)

// ErrNotBuilt is returned (wrapped) by Find when no image of the recipe is in the cache.
var ErrNotBuilt = errors.New("no root filesystem image built for this recipe")

// debianArch returns the table row of the guest arch named name when Debian releases suite
// for it, so that debootstrap can make its root: Debian 12 lacks riscv64, Debian 13 has it.
func debianArch(name, suite string) (arch.Arch, bool) {
	a, err := arch.Lookup(name)
	return a, err == nil && (a.Debian12 || suite != "bookworm")
}

// Recipe says what goes into an image.
type Recipe struct {
	// Arch is the guest architecture: x86_64 (default), aarch64, or riscv64 (trixie on).
	Arch string `json:"arch"`
	// Suite is the Debian release, bookworm by default.
	Suite string `json:"suite"`
	// Mirror is the Debian archive to install from; empty means the host's apt mirror for
	// Suite (see HostMirror). It is recorded but not part of Key.
	Mirror string `json:"mirror,omitempty"`
	// Packages are installed on top of Debian's minimal base; empty means DefaultPackages.
	Packages []string `json:"packages"`
}

// Normalize returns r with its defaults filled in and its packages sorted and deduplicated.
func (r Recipe) Normalize() Recipe {
	if r.Arch == "" {
		r.Arch = DefaultArch
	}
	if r.Suite == "" {
		r.Suite = DefaultSuite
		if a, err := arch.Lookup(r.Arch); err == nil && !a.Debian12 {
			r.Suite = a.KernelSuite // riscv64: the first Debian release that has it
		}
	}
	pkgs := r.Packages
	if len(pkgs) == 0 {
		pkgs = DefaultPackages
		if r.Suite == "trixie" {
			pkgs = TrixiePackages
		}
	}
	var clean []string
	for _, p := range pkgs {
		if p = strings.TrimSpace(p); p != "" {
			clean = append(clean, p)
		}
	}
	slices.Sort(clean)
	r.Packages = slices.Compact(clean)
	r.Mirror = strings.TrimRight(r.Mirror, "/")
	return r
}

// Validate reports a recipe Build cannot make.
func (r Recipe) Validate() error {
	r = r.Normalize()
	if _, ok := debianArch(r.Arch, r.Suite); !ok {
		return fmt.Errorf("rootfs recipe: Debian %s has no %q: arch must be %s (riscv64 from trixie on)", r.Suite, r.Arch, strings.Join(arch.Debian12Names(), " or "))
	}
	for _, s := range append([]string{r.Suite}, r.Packages...) {
		if strings.ContainsAny(s, " ,/\t\n'\"\\$`") || strings.HasPrefix(s, "-") {
			return fmt.Errorf("rootfs recipe: bad suite or package name %q", s)
		}
	}
	return nil
}

// Key returns the image's name in the cache: "<arch>-<first 12 hex digits of a hash of the
// arch, suite, packages and recipeVersion>".
func (r Recipe) Key() string {
	r = r.Normalize()
	h := sha256.Sum256(fmt.Appendf(nil, "vmfsbench rootfs v%d arch=%s suite=%s packages=%s",
		recipeVersion, r.Arch, r.Suite, strings.Join(r.Packages, ",")))
	return r.Arch + "-" + hex.EncodeToString(h[:6])
}

// Image is a built root filesystem image and what is in it. Its JSON form is the recipe file
// written beside the image.
type Image struct {
	// Path is the ext4 image file.
	Path string `json:"-"`
	// Key is the recipe's Key, the image's base name.
	Key string `json:"key"`
	// Recipe is what was asked for, normalized, with the mirror actually used.
	Recipe Recipe `json:"recipe"`
	// Packages maps every installed package to its version, as dpkg-query in the root says.
	Packages map[string]string `json:"installed"`
	// Size is the image file's size in bytes; TreeBytes and Files describe the root packed
	// into it.
	Size      int64 `json:"size"`
	TreeBytes int64 `json:"tree_bytes"`
	Files     int   `json:"files"`
	// LLVMDir is the LLVM installation lit and the tools come from (/usr/lib/llvm-15), or
	// empty when the recipe installs no LLVM tools.
	LLVMDir string `json:"llvm_dir,omitempty"`
	// SearchPath is the PATH a workload in the guest should run with: LLVMDir/bin first.
	SearchPath string `json:"path"`
	// Built is when the build finished; BuildSeconds how long it took (debootstrap and mkfs).
	Built        time.Time `json:"built"`
	BuildSeconds float64   `json:"build_seconds"`
	// Debootstrap is the version of the debootstrap that made the root.
	Debootstrap string `json:"debootstrap,omitempty"`
}

// Env returns the environment a workload runs with in the guest, as the user.
func (img Image) Env() []string {
	return []string{"PATH=" + img.SearchPath, "HOME=" + Home, "USER=" + User, "LOGNAME=" + User, "LANG=C.UTF-8"}
}

// paths returns the image and recipe file of key under cacheDir.
func paths(cacheDir, key string) (image, recipe string) {
	base := filepath.Join(cacheDir, "rootfs", key)
	return base + ".ext4", base + ".json"
}

// Find returns the image of r in cacheDir. When there is none the error wraps ErrNotBuilt and
// says how to build it.
func Find(cacheDir string, r Recipe) (Image, error) {
	if err := r.Validate(); err != nil {
		return Image{}, err
	}
	r = r.Normalize()
	key := r.Key()
	imgPath, recipePath := paths(cacheDir, key)
	fi, err := os.Stat(imgPath)
	if errors.Is(err, os.ErrNotExist) {
		hint := "vmfsbench rootfs build --arch " + r.Arch
		if !slices.Equal(r.Packages, Recipe{}.Normalize().Packages) {
			hint += " --packages " + strings.Join(r.Packages, ",")
		}
		return Image{}, fmt.Errorf("find rootfs: %w: %s is missing; run `%s`", ErrNotBuilt, imgPath, hint)
	} else if err != nil {
		return Image{}, fmt.Errorf("find rootfs: %w", err)
	}
	data, err := os.ReadFile(recipePath)
	if err != nil {
		return Image{}, fmt.Errorf("find rootfs: %w: recipe file of %s: %w", ErrNotBuilt, imgPath, err)
	}
	var img Image
	if err := json.Unmarshal(data, &img); err != nil {
		return Image{}, fmt.Errorf("find rootfs: %s: %w", recipePath, err)
	}
	if img.Key != key || img.Size != fi.Size() {
		return Image{}, fmt.Errorf("find rootfs: %w: %s (key %s, %d bytes) does not describe %s (key %s, %d bytes); remove both and rebuild",
			ErrNotBuilt, recipePath, img.Key, img.Size, imgPath, key, fi.Size())
	}
	img.Path = imgPath
	return img, nil
}
