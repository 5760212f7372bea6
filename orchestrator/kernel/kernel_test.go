package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

func TestCacheDir(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
		err                   bool
	}{
		{name: "xdg", xdg: "/x/cache", home: "/home/u", want: "/x/cache/vmfsbench"},
		{name: "relative xdg is ignored", xdg: "cache", home: "/home/u", want: "/home/u/.cache/vmfsbench"},
		{name: "home", home: "/home/u", want: "/home/u/.cache/vmfsbench"},
		{name: "neither", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := CacheDir()
			if (err != nil) != tt.err {
				t.Fatalf("CacheDir() error = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("CacheDir() = %q, want %q", got, tt.want)
			}
		})
	}
}

// fakeKernel lays out a cached kernel; complete=false leaves out modules.dep.
func fakeKernel(t *testing.T, cacheDir, arch, version string, complete bool) {
	t.Helper()
	root := filepath.Join(cacheDir, "kernels", arch, version)
	mods := filepath.Join(root, "lib", "modules", version)
	if err := os.MkdirAll(mods, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "vmlinuz"), []byte("bzImage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "package"), []byte("linux-image-"+version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if complete {
		if err := os.WriteFile(filepath.Join(mods, "modules.dep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFind(t *testing.T) {
	cache := t.TempDir()
	fakeKernel(t, cache, "x86_64", "6.1.0-9-amd64", true)
	fakeKernel(t, cache, "x86_64", "6.1.0-56-amd64", true)
	fakeKernel(t, cache, "x86_64", "6.1.0-99-amd64", false)       // incomplete: ignored
	fakeKernel(t, cache, "x86_64", ".fetch-6.1.0-77-amd64", true) // in progress: ignored
	fakeKernel(t, cache, "aarch64", "6.1.0-60-arm64", true)

	k, err := Find(cache, "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(cache, "kernels", "x86_64", "6.1.0-56-amd64")
	want := Kernel{
		Arch:       "x86_64",
		Version:    "6.1.0-56-amd64",
		Vmlinuz:    filepath.Join(root, "vmlinuz"),
		ModulesDir: filepath.Join(root, "lib", "modules", "6.1.0-56-amd64"),
		Package:    "linux-image-6.1.0-56-amd64",
	}
	if k != want {
		t.Errorf("Find() = %+v\nwant %+v", k, want)
	}
	if k, err := Find(cache, "aarch64"); err != nil || k.Version != "6.1.0-60-arm64" {
		t.Errorf("Find(aarch64) = %+v, %v", k, err)
	}
}

func TestFindNone(t *testing.T) {
	cache := t.TempDir()
	fakeKernel(t, cache, "x86_64", "6.1.0-99-amd64", false)
	for _, arch := range []string{"x86_64", "aarch64"} {
		_, err := Find(cache, arch)
		if !errors.Is(err, ErrNoKernel) {
			t.Fatalf("Find(%s) error = %v, want ErrNoKernel", arch, err)
		}
		if want := "vmfsbench kernel fetch --arch " + arch; !strings.Contains(err.Error(), want) {
			t.Errorf("Find(%s) error %q does not say %q", arch, err, want)
		}
	}
}

func TestFromPaths(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "vmlinuz")
	mods := filepath.Join(dir, "modules", "6.9.0-rc1")
	noDep := filepath.Join(dir, "nodep", "6.9.0")
	for _, d := range []string{mods, noDep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(img, []byte("Image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mods, "modules.dep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, vmlinuz, modules string
		want                   Kernel
		err                    string
	}{
		{name: "ok", vmlinuz: img, modules: mods + "/", want: Kernel{Version: "6.9.0-rc1", Vmlinuz: img, ModulesDir: mods}},
		{name: "no image", vmlinuz: filepath.Join(dir, "nope"), modules: mods, err: "kernel image: stat"},
		{name: "image is a dir", vmlinuz: dir, modules: mods, err: "not a regular file"},
		{name: "no modules", vmlinuz: img, modules: filepath.Join(dir, "none"), err: "kernel modules: stat"},
		{name: "modules is a file", vmlinuz: img, modules: img, err: "not a directory"},
		{name: "no modules.dep", vmlinuz: img, modules: noDep, err: "no modules.dep (run depmod)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromPaths(tt.vmlinuz, tt.modules)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("FromPaths() error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("FromPaths() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"6.1.0-9-amd64", "6.1.0-56-amd64", true},
		{"6.1.0-56-amd64", "6.1.0-9-amd64", false},
		{"6.9.0", "6.10.0", true},
		{"6.1.0", "6.1.0", false},
		{"6.1", "6.1.0", true},
		{"6.1.0-rc1", "6.1.0-rc2", true},
		{"6.1.05", "6.1.5", false},
	}
	for _, tt := range tests {
		if got := versionLess(tt.a, tt.b); got != tt.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPickKernel(t *testing.T) {
	tests := []struct {
		name, out, darch, want string
	}{
		{name: "amd64", darch: "amd64", out: "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", want: "linux-image-6.1.0-56-amd64"},
		{name: "arm64", darch: "arm64", out: "linux-image-arm64\n  Depends: linux-image-6.1.0-56-arm64\n", want: "linux-image-6.1.0-56-arm64"},
		{name: "newest of alternatives", darch: "amd64", out: "linux-image-amd64\n |Depends: linux-image-6.1.0-9-amd64\n  Depends: linux-image-6.1.0-10-amd64\n", want: "linux-image-6.1.0-10-amd64"},
		{name: "cloud and rt are not standard", darch: "amd64", out: "x\n  Depends: linux-image-6.1.0-56-cloud-amd64\n  Depends: linux-image-6.1.0-56-rt-amd64\n"},
		{name: "other arch", darch: "amd64", out: "x\n  Depends: linux-image-6.1.0-56-arm64\n"},
		{name: "nothing", darch: "amd64", out: "linux-image-amd64\n"},
		{name: "Debian 13", darch: "riscv64", out: "linux-image-riscv64\n  Depends: linux-image-6.12.117+deb13-riscv64\n", want: "linux-image-6.12.117+deb13-riscv64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pickKernel([]byte(tt.out), tt.darch); got != tt.want {
				t.Errorf("pickKernel() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFetchUnsupportedArch(t *testing.T) {
	_, err := Fetch(context.Background(), t.TempDir(), "mips", &bytes.Buffer{})
	if !errors.Is(err, ErrUnsupportedArch) || !strings.Contains(err.Error(), "guest.kernel") {
		t.Fatalf("Fetch(mips) error = %v, want ErrUnsupportedArch naming guest.kernel", err)
	}
}

func TestFetchWithoutApt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Fetch(context.Background(), t.TempDir(), "x86_64", &bytes.Buffer{})
	if !errors.Is(err, ErrNoApt) {
		t.Fatalf("Fetch() error = %v, want ErrNoApt", err)
	}
	want := "install apt and dpkg"
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		want = "guest.kernel and guest.modules"
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Fetch() error %q does not say %q", err, want)
	}
}

// TestFetchReal downloads Debian's kernel (~70 MB) into the user's cache dir, so after the
// first run it only refreshes apt lists (at most daily) and finds the kernel cached.
func TestFetchReal(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		testenv.Missing(t, "apt-get not found, no real kernel fetch: %v", err)
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var log bytes.Buffer
	start := time.Now()
	k, err := Fetch(ctx, cache, "x86_64", &log)
	t.Logf("first Fetch took %s:\n%s", time.Since(start).Round(time.Millisecond), log.String())
	if err != nil {
		t.Fatal(err)
	}
	if k.Arch != "x86_64" || k.Package != "linux-image-"+k.Version || filepath.Base(k.ModulesDir) != k.Version {
		t.Errorf("Fetch() = %+v: inconsistent fields", k)
	}
	if !strings.HasSuffix(k.Version, "-amd64") || strings.Contains(k.Version, "cloud") || strings.Contains(k.Version, "rt") {
		t.Errorf("Fetch() version %q is not a standard amd64 kernel", k.Version)
	}
	fi, err := os.Stat(k.Vmlinuz)
	if err != nil || fi.Size() < 1<<20 {
		t.Errorf("vmlinuz %s: %v, size %v", k.Vmlinuz, err, fi)
	}
	dep, err := os.ReadFile(filepath.Join(k.ModulesDir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dep, []byte("9pnet_virtio.ko")) {
		t.Errorf("modules.dep of %s has no 9pnet_virtio: not the standard flavour?", k.Version)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(k.ModulesDir)), "firmware")); err == nil {
		t.Errorf("firmware was installed next to %s", k.ModulesDir)
	}

	log.Reset()
	start = time.Now()
	k2, err := Fetch(ctx, cache, "x86_64", &log)
	t.Logf("second Fetch took %s:\n%s", time.Since(start).Round(time.Millisecond), log.String())
	if err != nil {
		t.Fatal(err)
	}
	if k2 != k || !strings.Contains(log.String(), "is cached") || strings.Contains(log.String(), "downloading") {
		t.Errorf("second Fetch() = %+v, log %q: want the cached kernel without a download", k2, log.String())
	}
	if f, err := Find(cache, "x86_64"); err != nil || versionLess(f.Version, k.Version) {
		t.Errorf("Find() = %+v, %v: want at least %s", f, err, k.Version)
	}
}
