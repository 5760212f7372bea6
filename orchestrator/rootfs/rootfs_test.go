package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRecipeNormalizeAndKey(t *testing.T) {
	tests := []struct {
		name string
		r    Recipe
		want Recipe
		key  string
	}{
		{
			name: "defaults",
			want: Recipe{Arch: "x86_64", Suite: "bookworm", Packages: []string{"llvm-15", "llvm-15-tools", "python3"}},
			// Pinned: a changed key orphans every cached image, so it must be deliberate
			// (bump recipeVersion and update this).
			key: "x86_64-6d84f0ef11e2",
		},
		{
			name: "same packages in another order, doubled, with a mirror",
			r:    Recipe{Arch: "x86_64", Mirror: "http://ftp.de.debian.org/debian/", Packages: []string{"python3", " llvm-15-tools", "llvm-15", "python3", ""}},
			want: Recipe{Arch: "x86_64", Suite: "bookworm", Mirror: "http://ftp.de.debian.org/debian", Packages: []string{"llvm-15", "llvm-15-tools", "python3"}},
			key:  "x86_64-6d84f0ef11e2",
		},
		{
			name: "aarch64",
			r:    Recipe{Arch: "aarch64"},
			want: Recipe{Arch: "aarch64", Suite: "bookworm", Packages: []string{"llvm-15", "llvm-15-tools", "python3"}},
		},
		{
			name: "other packages",
			r:    Recipe{Packages: []string{"python3"}},
			want: Recipe{Arch: "x86_64", Suite: "bookworm", Packages: []string{"python3"}},
		},
	}
	keys := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.Normalize()
			if got.Arch != tt.want.Arch || got.Suite != tt.want.Suite || got.Mirror != tt.want.Mirror || !slices.Equal(got.Packages, tt.want.Packages) {
				t.Errorf("Normalize() = %+v, want %+v", got, tt.want)
			}
			k := tt.r.Key()
			if tt.key != "" && k != tt.key {
				t.Errorf("Key() = %q, want %q", k, tt.key)
			}
			if !strings.HasPrefix(k, tt.want.Arch+"-") {
				t.Errorf("Key() = %q, want prefix %q", k, tt.want.Arch+"-")
			}
			if other, ok := keys[k]; ok && tt.key == "" {
				t.Errorf("Key() = %q, same as for %q", k, other)
			}
			keys[k] = tt.name
		})
	}
}

func TestRecipeValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Recipe
		err  string
	}{
		{name: "defaults"},
		{name: "aarch64", r: Recipe{Arch: "aarch64"}},
		{name: "riscv64 bookworm", r: Recipe{Arch: "riscv64", Suite: "bookworm"}, err: `Debian bookworm has no "riscv64": arch must be x86_64 or aarch64 (riscv64 from trixie on)`},
		{name: "riscv64 defaults to trixie", r: Recipe{Arch: "riscv64"}},
		{name: "riscv64 trixie", r: Recipe{Arch: "riscv64", Suite: "trixie"}},
		{name: "option as package", r: Recipe{Packages: []string{"--foo"}}, err: `bad suite or package name "--foo"`},
		{name: "comma in package", r: Recipe{Packages: []string{"a,b"}}, err: `bad suite or package name "a,b"`},
		{name: "path as suite", r: Recipe{Suite: "../x"}, err: `bad suite or package name "../x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.err)
			}
		})
	}
}

func TestHostMirror(t *testing.T) {
	tests := []struct {
		dir, suite, want string
		err              error
	}{
		{dir: "oneline", suite: "bookworm", want: "http://ftp.de.debian.org/debian"},
		{dir: "deb822", suite: "bookworm", want: "http://deb.debian.org/debian"},
		{dir: "deb822", suite: "trixie", want: "http://deb.debian.org/debian"},
		{dir: "fallback", suite: "bookworm", want: "http://mirror.example.org/debian"},
		{dir: "fallback", suite: "trixie-updates", want: "http://mirror.example.org/debian"},
		{dir: "disabled", suite: "bookworm", want: "http://enabled.example.org/debian"},
		{dir: "none", suite: "bookworm", err: ErrNoMirror},
		{dir: "missing", suite: "bookworm", err: ErrNoMirror},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"/"+tt.suite, func(t *testing.T) {
			got, err := HostMirror(filepath.Join("testdata", "apt", tt.dir), tt.suite)
			if !errors.Is(err, tt.err) {
				t.Fatalf("HostMirror() error = %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("HostMirror() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckMirror(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debian/dists/bookworm/Release" {
			w.Write([]byte("Origin: Debian\n"))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/debian"
	l.Close()
	local := t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "dists", "bookworm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "dists", "bookworm", "Release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mirror, suite string
		err                 error
		says                string
	}{
		{name: "serves the suite", mirror: srv.URL + "/debian", suite: "bookworm"},
		{name: "lacks the suite", mirror: srv.URL + "/debian", suite: "jessie", err: ErrUnreachable, says: "404"},
		{name: "nobody listening", mirror: closed, suite: "bookworm", err: ErrUnreachable, says: closed},
		{name: "local directory", mirror: "file://" + local, suite: "bookworm"},
		{name: "local directory without the suite", mirror: "file://" + local, suite: "trixie", err: ErrUnreachable, says: local},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkMirror(context.Background(), tt.mirror, tt.suite)
			if !errors.Is(err, tt.err) {
				t.Fatalf("checkMirror() = %v, want %v", err, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), tt.says) {
				t.Errorf("checkMirror() = %v, want it to say %q", err, tt.says)
			}
		})
	}
}

func TestParseDpkgList(t *testing.T) {
	out := "ii \tpython3\t3.11.2-1+b1\nii \tllvm-15\t1:15.0.6-4+b1\nrc \told-thing\t1.0\nii \tbroken line\n"
	got := parseDpkgList([]byte(out))
	want := map[string]string{"python3": "3.11.2-1+b1", "llvm-15": "1:15.0.6-4+b1"}
	if len(got) != len(want) {
		t.Fatalf("parseDpkgList() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parseDpkgList()[%q] = %q, want %q", k, got[k], v)
		}
	}
}

func TestFind(t *testing.T) {
	cache := t.TempDir()
	r := Recipe{}
	if _, err := Find(cache, r); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "vmfsbench rootfs build --arch x86_64") {
		t.Fatalf("Find() on an empty cache = %v, want ErrNotBuilt naming the command", err)
	}
	if _, err := Find(cache, Recipe{Packages: []string{"python3"}}); err == nil || !strings.Contains(err.Error(), "--packages python3") {
		t.Fatalf("Find() = %v, want the hint to name the packages", err)
	}
	img, rec := paths(cache, r.Key())
	if err := os.MkdirAll(filepath.Dir(img), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(cache, r); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Find() of an image without its recipe file = %v, want ErrNotBuilt", err)
	}
	write := func(i Image) {
		t.Helper()
		data, err := json.Marshal(i)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rec, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(Image{Key: r.Key(), Size: 8192})
	if _, err := Find(cache, r); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Find() of an image whose size disagrees with its recipe = %v, want ErrNotBuilt", err)
	}
	write(Image{Key: r.Key(), Size: 4096, Recipe: r.Normalize(), Packages: map[string]string{"python3": "3.11"}, SearchPath: "/usr/bin"})
	got, err := Find(cache, Recipe{Packages: []string{"python3", "llvm-15-tools", "llvm-15"}})
	if err != nil {
		t.Fatalf("Find() = %v", err)
	}
	if got.Path != img || got.Packages["python3"] != "3.11" || got.SearchPath != "/usr/bin" {
		t.Errorf("Find() = %+v, want the image at %s with its recipe", got, img)
	}
}

func TestCheckHost(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := sbinDirs
	sbinDirs = nil
	defer func() { sbinDirs = old }()
	err := checkHost("x86_64", false)
	if os.Geteuid() != 0 {
		if !errors.Is(err, ErrNotRoot) {
			t.Fatalf("checkHost() as a user = %v, want ErrNotRoot", err)
		}
		return
	}
	if !errors.Is(err, ErrNoDebootstrap) || !strings.Contains(err.Error(), "apt-get install debootstrap") {
		t.Fatalf("checkHost() without debootstrap = %v, want ErrNoDebootstrap naming the package", err)
	}
}

func TestRunScript(t *testing.T) {
	src := t.TempDir()
	img := Image{Path: "/cache/rootfs/x86_64-abc.ext4", SearchPath: "/usr/lib/llvm-15/bin:/usr/bin:/bin"}
	script, args, err := img.runScript("/tmp/mnt", Command{
		Argv:   []string{"lit", "-sv", "it's here"},
		Dir:    Mountpoint + "/build/stage2cross/test",
		Binds:  []Bind{{Source: src, Target: Mountpoint}},
		AsUser: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mount -o loop,ro /cache/rootfs/x86_64-abc.ext4 /tmp/mnt\n",
		"mount -t proc proc /tmp/mnt/proc\n",
		"mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp/mnt/dev/shm\n",
		"mount --bind " + src + " /tmp/mnt/home/user/llvm-project\n",
		"exec chroot --userspec=1001:1001 /tmp/mnt /usr/bin/env -i PATH=/usr/lib/llvm-15/bin:/usr/bin:/bin HOME=/home/user",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	wantArgs := []string{Mountpoint + "/build/stage2cross/test", "lit", "-sv", "it's here"}
	if !slices.Equal(args, wantArgs) {
		t.Errorf("args = %q, want %q", args, wantArgs)
	}
	for _, bad := range []Bind{{Source: src, Target: "/etc"}, {Source: src, Target: "tmp/x"}, {Source: filepath.Join(src, "nope"), Target: "/tmp/x"}} {
		if _, _, err := img.runScript("/tmp/mnt", Command{Argv: []string{"true"}, Binds: []Bind{bad}}); err == nil {
			t.Errorf("runScript() with bind %+v = nil error, want one", bad)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain/path-1.0": "plain/path-1.0",
		"":               "''",
		"a b":            "'a b'",
		"it's":           `'it'\''s'`,
		"$HOME":          "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPrefixWriter(t *testing.T) {
	var b strings.Builder
	w := prefixWriter(&b, "> ")
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\n\nthree"))
	if want := "> one\n> two\n> \n> three"; b.String() != want {
		t.Errorf("prefixWriter wrote %q, want %q", b.String(), want)
	}
}

// TestRecipeDefaultsPerSuite: a riscv64 recipe defaults to Debian 13 and its packages, so
// `rootfs build --arch riscv64` and a spec's `rootfs: built` name the same image.
func TestRecipeDefaultsPerSuite(t *testing.T) {
	r := Recipe{Arch: "riscv64"}.Normalize()
	if r.Suite != "trixie" || strings.Join(r.Packages, ",") != "libllvm19,python3" {
		t.Errorf("riscv64 recipe %+v", r)
	}
	if r.Key() != (Recipe{Arch: "riscv64", Suite: "trixie", Packages: []string{"python3", "libllvm19"}}).Key() {
		t.Error("the default riscv64 recipe and the explicit one differ")
	}
	if x := (Recipe{}).Normalize(); x.Suite != "bookworm" || strings.Join(x.Packages, ",") != "llvm-15,llvm-15-tools,python3" {
		t.Errorf("default recipe %+v", x)
	}
}
