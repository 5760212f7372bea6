package method

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// TestPmemPlans checks what device: pmem changes in the erofs and ext4 plans: the image is a
// virtio-pmem device of an aligned size (shared and read-only for erofs, private for ext4),
// mounted from /dev/pmem0 with dax=always and the DAX check, with the nvdimm modules; erofs
// builds without inlined tails and pads the image, keeps its overlay (a scratch disk is then
// the first disk); ext4 takes 4 KiB blocks and is mounted read-write without an overlay.
func TestPmemPlans(t *testing.T) {
	base := Config{Tree: "/src/tree", Work: "/run/work", Sockets: "/run/s", Mountpoint: "/root/tree", Arch: "x86_64",
		Size: TreeSize{Files: 10, Dirs: 3, Symlinks: 2, Bytes: 5 << 20, Inodes: 15, Blocks: 1300}}
	mount := func(p Setup) protocol.Step {
		for _, s := range p.Guest {
			if s.Name == "mount" {
				return s
			}
		}
		t.Fatalf("no mount step in %+v", p.Guest)
		return protocol.Step{}
	}
	checkPmem := func(t *testing.T, p Setup, private bool) Pmem {
		t.Helper()
		d, ok := p.Devices[0].(Pmem)
		if !ok || d.Private != private || d.Size%qemu.PmemAlign != 0 || d.Size <= 0 {
			t.Fatalf("first device %+v, want a pmem device (private %v) of whole 2 MiB", p.Devices[0], private)
		}
		m := mount(p)
		if m.Source != "/dev/pmem0" || m.Options != "dax=always" || !m.DAX {
			t.Errorf("mount step %+v, want /dev/pmem0 with dax=always and the DAX check", m)
		}
		for _, mod := range []string{"libnvdimm", "nd_btt", "nd_pmem", "nd_virtio", "virtio_pmem"} {
			if !slices.Contains(p.Modules, mod) {
				t.Errorf("modules %v lack %s", p.Modules, mod)
			}
		}
		return d
	}

	t.Run("erofs", func(t *testing.T) {
		c := base
		c.Params = Params{"compression": "none", "upper": "tmpfs", "device": "pmem"}
		p := planOf(Erofs{}, c)
		d := checkPmem(t, p, false)
		if d.Size < base.Size.Blocks*4096 {
			t.Errorf("device of %d bytes for a tree of %d blocks", d.Size, base.Size.Blocks)
		}
		cmds := p.Steps[0].Commands
		if !slices.Contains(cmds[0], "-Enoinline_data") || slices.ContainsFunc(cmds[0], func(a string) bool { return strings.HasPrefix(a, "-z") }) {
			t.Errorf("mkfs.erofs %q: want -Enoinline_data and no compression", cmds[0])
		}
		if want := []string{"truncate", "--size=" + itoa(d.Size), "/run/work/tree.erofs"}; len(cmds) != 2 || !slices.Equal(cmds[1], want) {
			t.Errorf("commands %q, want the build then %q", cmds, want)
		}
		if len(p.Guest) != 2 || p.Guest[1].Kind != protocol.StepOverlay || !mount(p).ReadOnly {
			t.Errorf("guest steps %+v, want a read-only DAX mount under an overlay", p.Guest)
		}
		c.Params["upper"] = "disk"
		p = planOf(Erofs{}, c)
		if up := p.Guest[1].UpperDevice; up != "/dev/vda" {
			t.Errorf("upper device %q, want /dev/vda: no disk before the scratch disk", up)
		}
		c.Params = Params{"compression": "none", "upper": "tmpfs", "device": "blk"}
		if p := planOf(Erofs{}, c); !slices.Equal(p.Steps[0].Commands[0], []string{"mkfs.erofs", "--quiet", "--preserve-mtime", "/run/work/tree.erofs", "/src/tree"}) {
			t.Errorf("device: blk changed the build: %q", p.Steps[0].Commands)
		}
	})
	t.Run("ext4", func(t *testing.T) {
		c := base
		c.Params = Params{"size": "100MiB", "device": "pmem"}
		p := planOf(Ext4{}, c)
		d := checkPmem(t, p, true)
		if d.Size != 100<<20 {
			t.Errorf("device size %d, want 100 MiB", d.Size)
		}
		c.Params["size"] = "99.5MiB"
		if d := planOf(Ext4{}, c).Devices[0].(Pmem); d.Size != 100<<20 {
			t.Errorf("a 99.5 MiB image: device size %d, want it rounded up to 100 MiB", d.Size)
		}
		if mkfs := p.Steps[0].Commands[0]; !strings.Contains(strings.Join(mkfs, " "), " -b 4096 ") || mkfs[len(mkfs)-1] != "102400k" {
			t.Errorf("mkfs.ext4 %q, want 4 KiB blocks and the device's size", mkfs)
		}
		if len(p.Guest) != 1 || mount(p).ReadOnly {
			t.Errorf("guest steps %+v, want one read-write mount, no overlay", p.Guest)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			m      Method
			params Params
			arch   string
			want   string
		}{
			{Erofs{}, Params{"compression": "none", "upper": "tmpfs", "device": "pmem"}, "riscv64", "virt machine has no virtio-pmem"},
			{Ext4{}, Params{"size": "auto", "device": "pmem"}, "riscv64", "virt machine has no virtio-pmem"},
			{Erofs{}, Params{"compression": "lz4", "upper": "tmpfs", "device": "pmem"}, "x86_64", "lz4 cannot be mapped with DAX"},
		} {
			c := base
			c.Params, c.Arch = tc.params, tc.arch
			_, err := tc.m.Plan(withTools(tc.m, c))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %v on %s: %v, want an error saying %q", tc.m.Name(), tc.params, tc.arch, err, tc.want)
			}
		}
	})
}

// TestErofsPmemPadding builds an erofs image for a pmem device and checks that it is padded
// to the planned device size, and that an image larger than planned fails the step.
func TestErofsPmemPadding(t *testing.T) {
	needTool(t, "mkfs.erofs")
	root := t.TempDir()
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(root, "f"+itoa(int64(i))), []byte(strings.Repeat("x", i*1000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := MeasureTree(context.Background(), root, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Params: Params{"compression": "none", "upper": "tmpfs", "device": "pmem"}, Tree: root, Work: t.TempDir(),
		Mountpoint: "/t", Arch: "x86_64", Size: ts}
	p := planOf(Erofs{}, c)
	size := p.Devices[0].(Pmem).Size
	if _, err := runStep(context.Background(), p.Steps[0], Env{Log: &Log{}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(c.Work, "tree.erofs"))
	if err != nil || fi.Size() != size {
		t.Fatalf("image: %v, %v bytes; want %d", err, fi.Size(), size)
	}
	// A tree that grew after the probe measured it no longer fits.
	if err := os.WriteFile(filepath.Join(root, "big"), make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runStep(context.Background(), p.Steps[0], Env{Log: &Log{}}); err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Errorf("an image larger than its device: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDAXAlign: dax_align: 2MiB builds erofs with --dsunit=512, refused on erofs-utils
// before 1.8 with the version; ext4 in 2 MiB clusters on a larger device; and without
// device: pmem it is an error.
func TestDAXAlign(t *testing.T) {
	base := Config{Tree: "/src/tree", Work: "/run/work", Sockets: "/run/s", Mountpoint: "/root/tree", Arch: "x86_64",
		Size: TreeSize{Files: 10, Dirs: 3, Symlinks: 2, Bytes: 5 << 20, Inodes: 15, Blocks: 1300}}
	plan := func(m Method, p Params, erofsVersion string) (Setup, error) {
		c := base
		c.Params = p
		c.Tools = Found{"erofs-utils": {Path: "/usr/bin/mkfs.erofs", Version: erofsVersion}}
		return m.Plan(c)
	}
	erofs := Params{"compression": "none", "upper": "tmpfs", "device": "pmem", "dax_align": "2MiB"}
	for _, tc := range []struct{ version, refused string }{
		{"mkfs.erofs 1.5", "erofs dax_align: 2MiB needs mkfs.erofs --dsunit (erofs-utils 1.8 or later), and this host's is mkfs.erofs 1.5"},
		{"mkfs.erofs (erofs-utils) 1.8.6", ""},
	} {
		p, err := plan(Erofs{}, erofs, tc.version)
		if err != nil {
			t.Fatal(err)
		}
		if p.Refused != tc.refused || !slices.Contains(p.Steps[0].Commands[0], "--dsunit=512") {
			t.Errorf("%s: refused %q (want %q), build %v", tc.version, p.Refused, tc.refused, p.Steps[0].Commands[0])
		}
		unaligned, _ := plan(Erofs{}, Params{"compression": "none", "upper": "tmpfs", "device": "pmem"}, tc.version)
		if a, u := p.Devices[0].(Pmem).Size, unaligned.Devices[0].(Pmem).Size; a < u+base.Size.Files*(2<<20) {
			t.Errorf("aligned device %d bytes, unaligned %d: want room for 2 MiB more per file", a, u)
		}
	}
	p, err := plan(Ext4{}, Params{"size": "auto", "device": "pmem", "dax_align": "2MiB"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if argv := strings.Join(p.Steps[0].Commands[0], " "); !strings.Contains(argv, "-O bigalloc -C 2M") {
		t.Errorf("ext4 build %s, want bigalloc in 2 MiB clusters", argv)
	}
	if size := p.Devices[0].(Pmem).Size; size < (base.Size.Files+base.Size.Dirs+base.Size.Symlinks)*(2<<20) {
		t.Errorf("ext4 device of %d bytes: less than a 2 MiB cluster per entry", size)
	}
	for _, m := range []Method{Erofs{}, Ext4{}} {
		_, err := plan(m, Params{"compression": "none", "upper": "tmpfs", "size": "auto", "device": "blk", "dax_align": "2MiB"}, "1.8")
		if err == nil || !strings.Contains(err.Error(), "dax_align: 2MiB applies to device: pmem") {
			t.Errorf("%s dax_align on blk: %v", m.Name(), err)
		}
	}
}
