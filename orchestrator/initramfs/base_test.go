package initramfs

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// fakeModules lays out a modules dir with plain and compressed modules; each module's
// content is "module <name>".
func fakeModules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	dep := `kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.zst kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet.ko.zst:
kernel/fs/netfs/netfs.ko:
kernel/fs/overlayfs/overlay.ko:
kernel/arch/x86/crypto/crc32c-intel.ko.gz:
`
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"kernel/fs/9p/9p.ko.xz", "kernel/net/9p/9pnet.ko.zst", "kernel/fs/netfs/netfs.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/arch/x86/crypto/crc32c-intel.ko.gz"} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := t.TempDir()
		name := modName(rel)
		content := []byte("module " + name)
		switch s := compression(rel); s {
		case "":
			if err := os.WriteFile(p, content, 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			src := compressedModules(t, tmp, content)
			var from string
			for n, f := range src {
				if strings.HasSuffix(n, s) {
					from = f
				}
			}
			b, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildBase(t *testing.T) {
	agent := testAgent(t, runtime.GOARCH)
	mods := fakeModules(t)
	extra := filepath.Join(t.TempDir(), "extra")
	if err := os.WriteFile(extra, []byte("extra from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := Base{
		Agent:      agent,
		ModulesDir: mods,
		Modules:    []string{"crc32c-intel", "ext4", "9p", "overlay"},
		Extras: []File{
			{Name: "/etc/vmfsbench.conf", Data: []byte("x=1\n")},
			{Name: "/usr/share/extra", Src: extra},
			{Name: "/bin/sh", Link: "busybox"},
		},
	}
	ctx := context.Background()
	c1, c2 := t.TempDir(), t.TempDir()
	p1, m1, err := BuildBase(ctx, c1, b)
	if err != nil {
		t.Fatal(err)
	}
	p2, m2, err := BuildBase(ctx, c2, b)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p1) != filepath.Base(p2) || filepath.Dir(p1) != filepath.Join(c1, "initramfs") {
		t.Errorf("paths %s and %s: want the same name under <cache>/initramfs", p1, p2)
	}
	if !bytes.Equal(readFile(t, p1), readFile(t, p2)) {
		t.Error("two builds of the same base differ")
	}
	wantMods := []Module{
		{"crc32c_intel", "kernel/arch/x86/crypto/crc32c-intel.ko.gz"},
		{"netfs", "kernel/fs/netfs/netfs.ko"},
		{"9pnet", "kernel/net/9p/9pnet.ko.zst"},
		{"9p", "kernel/fs/9p/9p.ko.xz"},
		{"overlay", "kernel/fs/overlayfs/overlay.ko"},
	}
	if !reflect.DeepEqual(m1, wantMods) || !reflect.DeepEqual(m2, wantMods) {
		t.Errorf("modules = %v, want %v", m1, wantMods)
	}

	// A second build into the same cache finds the file and leaves it alone.
	fi1, _ := os.Stat(p1)
	p3, _, err := BuildBase(ctx, c1, b)
	if err != nil {
		t.Fatal(err)
	}
	if fi3, _ := os.Stat(p3); p3 != p1 || !os.SameFile(fi1, fi3) {
		t.Errorf("cached base was rewritten: %s then %s", p1, p3)
	}

	archives := readArchives(t, readFile(t, p1))
	if len(archives) != 1 {
		t.Fatalf("base holds %d archives, want 1", len(archives))
	}
	type ent struct {
		Mode    cpio.FileMode
		Content string
	}
	gotEnts := map[string]ent{}
	var order []string
	for _, e := range archives[0] {
		c := e.Content
		if e.Link != "" {
			c = "-> " + e.Link
		}
		gotEnts[e.Name] = ent{e.Mode, c}
		order = append(order, e.Name)
	}
	wantOrder := []string{
		"bin", "bin/sh", "etc", "etc/vmfsbench.conf", "init", "lib", "lib/modules",
		"lib/modules/9p.ko", "lib/modules/9pnet.ko", "lib/modules/crc32c_intel.ko",
		"lib/modules/netfs.ko", "lib/modules/overlay.ko",
		"usr", "usr/share", "usr/share/extra", "vmfsbench", "vmfsbench/modules",
	}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("entries:\n got %v\nwant %v", order, wantOrder)
	}
	checks := map[string]ent{
		"init":                        {cpio.TypeReg | 0o755, string(readFile(t, agent))},
		"lib/modules/9p.ko":           {cpio.TypeReg | 0o644, "module 9p"},
		"lib/modules/9pnet.ko":        {cpio.TypeReg | 0o644, "module 9pnet"},
		"lib/modules/crc32c_intel.ko": {cpio.TypeReg | 0o644, "module crc32c_intel"},
		"lib/modules/netfs.ko":        {cpio.TypeReg | 0o644, "module netfs"},
		"vmfsbench/modules":           {cpio.TypeReg | 0o644, "crc32c_intel.ko\nnetfs.ko\n9pnet.ko\n9p.ko\noverlay.ko\n"},
		"etc/vmfsbench.conf":          {cpio.TypeReg | 0o644, "x=1\n"},
		"usr/share/extra":             {cpio.TypeReg | 0o644, "extra from host"},
		"bin/sh":                      {cpio.TypeSymlink | 0o777, "-> busybox"},
		"lib/modules":                 {cpio.TypeDir | 0o755, ""},
	}
	for name, want := range checks {
		if g := gotEnts[name]; g != want {
			if len(g.Content) > 80 {
				g.Content = g.Content[:80] + "..."
			}
			t.Errorf("%s = %+v, want mode %v and its content", name, g, want.Mode)
		}
	}

	// Any input change names a new archive.
	changes := map[string]func(b *Base){
		"extra content": func(b *Base) {
			b.Extras = append(b.Extras[:0:0], File{Name: "/etc/vmfsbench.conf", Data: []byte("x=2\n")})
		},
		"module list": func(b *Base) { b.Modules = []string{"9p"} },
		"extra mode":  func(b *Base) { b.Extras = []File{{Name: "/etc/vmfsbench.conf", Mode: 0o600, Data: []byte("x=1\n")}} },
	}
	for name, change := range changes {
		bb := b
		change(&bb)
		p, _, err := BuildBase(ctx, c1, bb)
		if err != nil {
			t.Fatal(err)
		}
		if p == p1 {
			t.Errorf("%s: changed input kept the archive name", name)
		}
	}
	if err := os.WriteFile(filepath.Join(mods, "kernel/fs/overlayfs/overlay.ko"), []byte("module overlay v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, _, err := BuildBase(ctx, c1, b); err != nil || p == p1 {
		t.Errorf("edited module: path %s, %v; want a new archive", p, err)
	}
}

func TestBuildBaseBusybox(t *testing.T) {
	var bb string
	for _, c := range busyboxCandidates {
		if m, err := staticELF(c); err == nil && m == elf.EM_X86_64 {
			bb = c
			break
		}
	}
	if bb == "" || runtime.GOARCH != "amd64" {
		if runtime.GOARCH != "amd64" {
			testenv.Inapplicable(t, "the busybox check is for an x86-64 host, not %s", runtime.GOARCH)
		}
		testenv.Missing(t, "no static x86-64 busybox in %v (apt-get install busybox-static)", busyboxCandidates)
	}
	ctx := context.Background()
	p, _, err := BuildBase(ctx, t.TempDir(), Base{Agent: testAgent(t, "amd64"), Busybox: true})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range readArchives(t, readFile(t, p))[0] {
		if e.Name == "bin/busybox" {
			found = true
			if e.Mode != cpio.TypeReg|0o755 || e.Content != string(readFile(t, bb)) {
				t.Errorf("bin/busybox: mode %v, %d bytes; want 0755 and the %d bytes of %s", e.Mode, len(e.Content), len(readFile(t, bb)), bb)
			}
		}
	}
	if !found {
		t.Error("no bin/busybox in the archive")
	}
	// The host's busybox does not run on an arm64 guest.
	_, _, err = BuildBase(ctx, t.TempDir(), Base{Agent: testAgent(t, "arm64"), Busybox: true})
	if err == nil || !strings.Contains(err.Error(), "built for EM_X86_64, the agent for EM_AARCH64") {
		t.Errorf("arm64 agent with the host's busybox: error = %v", err)
	}
}

func TestBuildBaseErrors(t *testing.T) {
	agent := testAgent(t, runtime.GOARCH)
	mods := fakeModules(t)
	script := filepath.Join(t.TempDir(), "init.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    Base
		err  string
	}{
		{"no agent", Base{Agent: filepath.Join(t.TempDir(), "none")}, "not an ELF executable"},
		{"agent not ELF", Base{Agent: script}, "not an ELF executable"},
		{"unknown module", Base{Agent: agent, ModulesDir: mods, Modules: []string{"9p", "zfs"}}, `module "zfs" is not in ` + mods},
		{"modules without dir", Base{Agent: agent, Modules: []string{"9p"}}, "without a modules directory"},
		{"extra clashes", Base{Agent: agent, Extras: []File{{Name: "/init", Data: []byte("x")}}}, `"init": listed twice`},
	}
	if _, err := os.Stat("/bin/sh"); err == nil {
		if _, err := staticELF("/bin/sh"); err != nil && strings.Contains(err.Error(), "dynamically linked") {
			tests = append(tests, struct {
				name string
				b    Base
				err  string
			}{"dynamic agent", Base{Agent: "/bin/sh"}, "dynamically linked"})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			_, _, err := BuildBase(context.Background(), cache, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("BuildBase() error = %v, want %q", err, tt.err)
			}
			if ents, _ := os.ReadDir(filepath.Join(cache, "initramfs")); len(ents) != 0 {
				t.Errorf("a failed build left %d files in the cache", len(ents))
			}
		})
	}
}
