package rootfs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
)

func TestCustomize(t *testing.T) {
	testenv.Root(t, "customize (it chowns the guest user's home)")
	root := t.TempDir()
	files := map[string]string{
		"etc/passwd":                             "root:x:0:0:root:/root:/bin/bash\n",
		"etc/group":                              "root:x:0:\n",
		"etc/shadow":                             "root:*:19000:0:99999:7:::",
		"usr/lib/llvm-14/bin/opt":                "",
		"usr/lib/llvm-15/bin/opt":                "",
		"usr/lib/llvm-15/build/utils/lit/lit.py": "",
		"usr/lib/llvm-16/bin/opt":                "", // newer, but without lit
		"dev/null":                               "",
		"tmp/junk/file":                          "",
		"var/cache/apt/archives/python3_3.11_amd64.deb":                    "",
		"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease": "",
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
	for _, d := range []string{"usr/local/bin", "etc/profile.d", "proc", "var/lib/apt/lists/partial"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	llvm, err := customize(root)
	if err != nil {
		t.Fatal(err)
	}
	if llvm != "/usr/lib/llvm-15" {
		t.Errorf("customize() = %q, want /usr/lib/llvm-15 (the newest with lit)", llvm)
	}
	// A second run must not add the user twice.
	if _, err := customize(root); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"etc/passwd":                 "root:x:0:0:root:/root:/bin/bash\nuser:x:1001:1001:vmfsbench guest user:/home/user:/bin/sh\n",
		"etc/group":                  "root:x:0:\nuser:x:1001:\n",
		"etc/shadow":                 "root:*:19000:0:99999:7:::\nuser:*:19999:0:99999:7:::\n",
		"usr/local/bin/lit":          "#!/bin/sh\n# lit from /usr/lib/llvm-15, written by vmfsbench rootfs.\nexec python3 /usr/lib/llvm-15/build/utils/lit/lit.py \"$@\"\n",
		"etc/environment":            "PATH=\"/usr/lib/llvm-15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\nLANG=C.UTF-8\n",
		"etc/profile.d/vmfsbench.sh": "# Written by vmfsbench rootfs: the LLVM tools first.\nexport PATH=\"/usr/lib/llvm-15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n",
		"usr/local/bin/llvm-lit":     "#!/bin/sh\n# lit from /usr/lib/llvm-15, written by vmfsbench rootfs.\nexec python3 /usr/lib/llvm-15/build/utils/lit/lit.py \"$@\"\n",
		"etc/hostname":               "vmfsbench\n",
		"usr/lib/llvm-15/bin/opt":    "",
	}
	for rel, body := range want {
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if string(got) != body {
			t.Errorf("%s = %q, want %q", rel, got, body)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "usr/local/bin/lit")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("lit wrapper: %v, mode %v, want 0755", err, fi.Mode())
	}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "var/cache/apt/archives"} {
		ents, err := os.ReadDir(filepath.Join(root, d))
		if err != nil || len(ents) != 0 {
			t.Errorf("%s: %d entries (%v), want an empty directory", d, len(ents), err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "var/lib/apt/lists")); len(ents) != 1 || ents[0].Name() != "partial" {
		t.Errorf("var/lib/apt/lists holds %v, want only partial/", ents)
	}
	if fi, err := os.Stat(filepath.Join(root, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Errorf("tmp: mode %v (%v), want sticky 0777", fi.Mode(), err)
	}
	for _, d := range []string{Home, Mountpoint} {
		var st statOwner
		if err := st.of(filepath.Join(root, d)); err != nil || st.uid != UID || st.gid != GID {
			t.Errorf("%s: owner %d:%d (%v), want %d:%d", d, st.uid, st.gid, err, UID, GID)
		}
	}
}

// TestBuildReal builds the default image for real (about a minute and 100 MiB of downloads
// the first time) in the user cache, where later runs and `vmfsbench run` find it.
func TestBuildReal(t *testing.T) {
	testenv.NotShort(t, "building the guest root filesystem (100 MiB of downloads)")
	if _, err := lookPath("debootstrap"); err != nil {
		testenv.Missing(t, "debootstrap is not installed (apt-get install debootstrap): the guest root filesystem is not built or checked: %v", err)
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	r := Recipe{Arch: "x86_64"}
	if _, err := Find(cache, r); err != nil && os.Geteuid() != 0 {
		testenv.Missing(t, "not root: the guest root filesystem cannot be built (run `sudo vmfsbench rootfs build`): %v", err)
	}
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	img, err := Build(ctx, cache, r, &log)
	if err != nil {
		t.Fatalf("Build() = %v\n%s", err, log.String())
	}
	t.Logf("image %s: %.1f MiB, %d packages, built in %.1fs", img.Path, float64(img.Size)/(1<<20), len(img.Packages), img.BuildSeconds)
	for _, p := range []string{"python3", "llvm-15", "llvm-15-tools", "dpkg", "base-files"} {
		if img.Packages[p] == "" {
			t.Errorf("package %s is not installed: %v", p, img.Packages)
		}
	}
	if v := img.Packages["llvm-15"]; !strings.HasPrefix(v, "1:15.") {
		t.Errorf("llvm-15 version %q, want 1:15.*", v)
	}
	if img.LLVMDir != "/usr/lib/llvm-15" || !strings.HasPrefix(img.SearchPath, "/usr/lib/llvm-15/bin:") {
		t.Errorf("LLVMDir %q, SearchPath %q, want LLVM 15 first", img.LLVMDir, img.SearchPath)
	}

	// The recipe file beside the image says the same.
	data, err := os.ReadFile(strings.TrimSuffix(img.Path, ".ext4") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var rec Image
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Key != img.Key || rec.Size != img.Size || rec.Recipe.Mirror == "" || len(rec.Packages) != len(img.Packages) || rec.BuildSeconds <= 0 {
		t.Errorf("recipe file %+v disagrees with the image %+v", rec, img)
	}

	// The same recipe again is the cached image, at once.
	start := time.Now()
	again, err := Build(ctx, cache, Recipe{Arch: "x86_64", Packages: []string{"python3", "llvm-15-tools", "llvm-15"}}, &log)
	if err != nil || again.Path != img.Path || time.Since(start) > 5*time.Second {
		t.Errorf("second Build() = %v, %v after %s, want the cached %s at once", again.Path, err, time.Since(start), img.Path)
	}

	// The image's own view: empty mount points, no downloaded packages.
	if _, err := lookPath("debugfs"); err == nil {
		for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/var/cache/apt/archives"} {
			for _, name := range debugfsLs(t, img.Path, d) {
				if d != "/var/cache/apt/archives" || strings.HasSuffix(name, ".deb") {
					t.Errorf("%s in the image holds %s, want no such entry", d, name)
				}
			}
		}
	}

	// As the guest user, in the image: the user, PATH, lit and the LLVM tools.
	if os.Geteuid() != 0 {
		t.Log("not root: the image's contents are not checked in a chroot")
		return
	}
	var out, errOut bytes.Buffer
	err = img.Run(ctx, Command{
		Argv:   []string{"sh", "-c", "id -u; id -g; pwd; for t in opt llc llvm-as FileCheck not count lit; do command -v $t; done; lit --version; opt --version | grep -o 'LLVM version [0-9.]*'"},
		AsUser: true, Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatalf("Run() = %v\n%s", err, errOut.String())
	}
	want := "1001\n1001\n/home/user\n/usr/lib/llvm-15/bin/opt\n/usr/lib/llvm-15/bin/llc\n/usr/lib/llvm-15/bin/llvm-as\n/usr/lib/llvm-15/bin/FileCheck\n/usr/lib/llvm-15/bin/not\n/usr/lib/llvm-15/bin/count\n/usr/local/bin/lit\nlit 15.0.6dev\nLLVM version 15.0.6\n"
	if out.String() != want {
		t.Errorf("in the image, as the user:\n%s\nwant:\n%s", out.String(), want)
	}
	// A failing command is an error that names it.
	if err := img.Run(ctx, Command{Argv: []string{"false"}}); err == nil || !strings.Contains(err.Error(), "false: exit status 1") {
		t.Errorf("Run(false) = %v, want exit status 1", err)
	}
}

// debugfsLs returns the names in dir of an ext4 image, without . and ..
func debugfsLs(t *testing.T, image, dir string) []string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", "ls -p "+dir, image).Output()
	if err != nil {
		t.Fatalf("debugfs ls %s: %v", dir, err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		// /inode/mode/uid/gid/name/size/
		f := strings.Split(l, "/")
		if len(f) >= 6 && f[5] != "." && f[5] != ".." {
			names = append(names, f[5])
		}
	}
	return names
}

// statOwner is a file's owner.
type statOwner struct{ uid, gid int }

func (s *statOwner) of(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner", p)
	}
	s.uid, s.gid = int(st.Uid), int(st.Gid)
	return nil
}
