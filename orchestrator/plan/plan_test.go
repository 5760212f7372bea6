package plan

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedHost and fixedDirs make plan output independent of the machine (GoldenHost).
var fixedHost, fixedDirs = GoldenHost, GoldenDirs

func load(t *testing.T, file string) *spec.Experiment {
	t.Helper()
	e, err := spec.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	e.File = filepath.Base(file)
	return e
}

func parse(t *testing.T, src string) *spec.Experiment {
	t.Helper()
	e, err := spec.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// hermetic makes what a spec's ~ expands to the same on every machine: HOME is an empty
// directory, shown as ~ in the goldens, and no XDG_CACHE_HOME moves the cache.
func hermetic(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", "")
	return home
}

// TestPlanGolden: each method's golden is an example in its test, beside it in
// orchestrator/method: the plan of a one-cell spec with its defaults and once more for each
// other value of its device (WriteOneCell), which `go test` checks. This finds each, fails
// for a method without one, and with -update rewrites their output. The seed study's plan is
// testdata/seed-llvm-riscv64.txt. Every golden leaves out the parameters at their defaults
// (WriteGolden), so a parameter added with a default that changes no command changes none.
func TestPlanGolden(t *testing.T) {
	home := hermetic(t)
	tests, _ := filepath.Glob("../method/*_test.go")
	src := map[string]string{}
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src[f] = string(b)
	}
	for _, name := range method.Names() {
		m, err := method.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		cases := []string{""}
		for _, d := range m.Params() {
			for _, v := range d.Enum {
				if d.Name == "device" && v != d.Default {
					cases = append(cases, "device: "+v)
				}
			}
		}
		for _, params := range cases {
			call := fmt.Sprintf("plan.WriteOneCell(os.Stdout, method.%s{}.Name(), %q)\n\t// Output:\n", reflect.TypeOf(m).Name(), params)
			var b bytes.Buffer
			if err := WriteOneCell(&b, name, params); err != nil {
				t.Fatalf("%s {%s}: %v", name, params, err)
			}
			found := false
			for f, text := range src {
				i := strings.Index(text, call)
				if i < 0 {
					continue
				}
				found = true
				start := i + len(call)
				end := start + strings.Index(text[start:], "}\n")
				want := "\t// " + strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), "\n", "\n\t// ") + "\n"
				want = strings.ReplaceAll(want, "\t// \n", "\t//\n")
				if text[start:end] != want && *update {
					src[f] = text[:start] + want + text[end:]
					if err := os.WriteFile(f, []byte(src[f]), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if !found {
				t.Errorf("no example of ../method shows the golden of %s {%s}: its test wants a function calling %s, whose output -update writes",
					name, params, strings.TrimSuffix(strings.SplitN(call, "\n", 2)[0], "\n"))
			}
		}
	}
	e := load(t, "../../specs/seed-llvm-riscv64.yaml")
	cells, err := Expand(e, fixedHost, fixedDirs, Choices{})
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	WriteGolden(&txt, e, cells)
	golden(t, "testdata/seed-llvm-riscv64.txt", bytes.ReplaceAll(txt.Bytes(), []byte(home), []byte("~")))
	files, _ := filepath.Glob("testdata/*.txt")
	for _, f := range files {
		if f != "testdata/seed-llvm-riscv64.txt" {
			t.Errorf("%s is the golden of no plan here: remove it", f)
		}
	}
}

// TestPlanEveryShippedSpec plans every spec of specs/ as TestPlanGolden plans the seed's:
// each must plan, every cell with its steps and none refused.
func TestPlanEveryShippedSpec(t *testing.T) {
	hermetic(t)
	files, _ := filepath.Glob("../../specs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no specs in ../../specs")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			e := load(t, f)
			h := fixedHost
			if e.Guest.Rootfs == spec.RootfsBuilt {
				h.Rootfs = "/cache/vmfsbench/rootfs/x86_64-recipe.ext4" // what the run resolves "built" to
			}
			cells, err := Expand(e, h, fixedDirs, Choices{})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cells {
				if len(c.Steps) == 0 || c.Refused != "" {
					t.Errorf("cell %s: no steps, or refused: %s", c.ID, c.Refused)
				}
			}
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; rerun with -update and review the diff.\ngot:\n%s", file, got)
	}
}

func TestSeedHasTenCellsPerRepetition(t *testing.T) {
	e := load(t, "../../specs/seed-llvm-riscv64.yaml")
	for _, reps := range []int{1, 3} {
		e.Repetitions = reps
		cells, err := Expand(e, fixedHost, fixedDirs, Choices{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != 10*reps {
			t.Fatalf("%d repetitions: %d cells, want %d", reps, len(cells), 10*reps)
		}
		methods := map[string]int{}
		for _, c := range cells {
			methods[c.Method+"/"+c.Cache]++
		}
		if len(methods) != 10 {
			t.Errorf("method x cache groups = %v, want 10", methods)
		}
	}
}

func TestCellCountsAndIDs(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"interleaved", `{version: 1, name: x, tree: {path: /t}, cache: [empty, warm], repetitions: 2,
			methods: [9p: {msize: [8192, 512000]}, ext4: {}]}`,
			[]string{"9p.msize=8192/empty/r1", "9p.msize=8192/warm/r1", "9p.msize=512000/empty/r1", "9p.msize=512000/warm/r1",
				"ext4/empty/r1", "ext4/warm/r1",
				"9p.msize=8192/empty/r2", "9p.msize=8192/warm/r2", "9p.msize=512000/empty/r2", "9p.msize=512000/warm/r2",
				"ext4/empty/r2", "ext4/warm/r2"}},
		{"grouped", `{version: 1, name: x, tree: {path: /t}, cache: [warm], repetitions: 2, order: grouped,
			methods: [squashfs: {compression: [none, zstd], block_size: 1MiB}]}`,
			[]string{"squashfs.compression=none.block_size=1MiB/warm/r1", "squashfs.compression=none.block_size=1MiB/warm/r2",
				"squashfs.compression=zstd.block_size=1MiB/warm/r1", "squashfs.compression=zstd.block_size=1MiB/warm/r2"}},
		{"param order follows the method table, not the spec", `{version: 1, name: x, tree: {path: /t}, cache: [asis],
			methods: [virtiofs: {thread_pool_size: 16, cache: never}]}`,
			[]string{"virtiofs.cache=never.thread_pool_size=16/asis/r1"}},
		{"same method twice with different params", `{version: 1, name: x, tree: {path: /t}, cache: [asis],
			methods: [9p: {}, 9p: {cache: loose}]}`,
			[]string{"9p/asis/r1", "9p.cache=loose/asis/r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cells, err := Cells(parse(t, tc.src))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cells {
				ids = append(ids, c.ID)
			}
			if strings.Join(ids, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("ids:\n%s\nwant:\n%s", strings.Join(ids, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDuplicateCellRefused(t *testing.T) {
	e := parse(t, "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - 9p: {cache: loose}\n  - 9p: {cache: [none, loose]}\n")
	_, err := Cells(e)
	if err == nil || err.Error() != "t.yaml:6:5: methods: cell 9p.cache=loose is already given at line 5" {
		t.Fatalf("got %v", err)
	}
}

func TestSweepSpecSizes(t *testing.T) {
	for file, want := range map[string]int{
		"../../specs/sweep-9p-msize.yaml":  4 * 2 * 1 * 3,
		"../../specs/sweep-virtiofs.yaml":  3 * 3 * 2 * 2,
		"../../specs/demo.yaml":            7 * 2,
		"../../specs/sweep-block.yaml":     23 * 2 * 3,
		"../../specs/sweep-block-lit.yaml": 19 * 2 * 2,
	} {
		cells, err := Cells(load(t, file))
		if err != nil || len(cells) != want {
			t.Errorf("%s: %d cells (%v), want %d", file, len(cells), err, want)
		}
	}
}

func TestFileName(t *testing.T) {
	got := FileName("ssh-tar.cipher=aes128-gcm@openssh.com/empty/r2")
	if got != "ssh-tar.cipher-aes128-gcm_openssh.com__empty__r2" || strings.ContainsAny(got, "/=@") {
		t.Errorf("FileName = %q", got)
	}
}

// TestPmemRefusedNamesCell: a plan refuses device: pmem where it cannot work, naming the
// cell and the reason.
func TestPmemRefusedNamesCell(t *testing.T) {
	for _, tc := range []struct{ arch, method, want string }{
		{"riscv64", "erofs: {device: pmem}", "cell erofs.device=pmem/asis/r1: erofs device: pmem cannot work on riscv64"},
		{"riscv64", "ext4: {device: pmem}", "cell ext4.device=pmem/asis/r1: ext4 device: pmem cannot work on riscv64"},
		{"x86_64", "erofs: {device: pmem, compression: lz4}", "erofs compression: lz4 cannot be mapped with DAX"},
	} {
		e := parse(t, "version: 1\nname: t\ntree: {path: "+t.TempDir()+"}\nguest: {arch: "+tc.arch+", mountpoint: /t}\n"+
			"workload: {builtin: read-all}\ncache: [asis]\nmethods:\n  - "+tc.method+"\n")
		_, err := Expand(e, fixedHost, fixedDirs, Choices{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s on %s: %v, want %q", tc.method, tc.arch, err, tc.want)
		}
	}
}

// TestMMIOBusTakesEveryDisk: with bus: mmio the tree's image, the scratch disk and the
// rootfs are all virtio-blk-device, so that the guest names them vda, vdb, vdc in order, and
// the guest gets the virtio-mmio transport.
func TestMMIOBusTakesEveryDisk(t *testing.T) {
	e := parse(t, "version: 1\nname: t\ntree: {path: /t}\nguest: {arch: riscv64, rootfs: /img/root.ext4, mountpoint: /t}\n"+
		"workload: {command: [/bin/true]}\ncache: [asis]\nmethods:\n  - squashfs: {bus: mmio, upper: disk}\n  - erofs: {}\n")
	cells, err := Expand(e, fixedHost, fixedDirs, Choices{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		var boot []string
		for _, s := range c.Steps {
			if s.Kind == method.StepBoot {
				boot = s.Commands[0]
			}
		}
		argv := strings.Join(boot, " ")
		mmio, pci := strings.Count(argv, "virtio-blk-device,"), strings.Count(argv, "virtio-blk-pci,")
		want := map[string][2]int{"squashfs": {3, 0}, "erofs": {0, 2}}[c.Method]
		if mmio != want[0] || pci != want[1] {
			t.Errorf("%s: %d disks on mmio, %d on pci; want %v: %s", c.ID, mmio, pci, want, argv)
		}
		if got := strings.Contains(strings.Join(c.Modules, " "), "virtio_mmio"); got != (c.Method == "squashfs") {
			t.Errorf("%s: modules %v", c.ID, c.Modules)
		}
	}
}

// TestModulesTheKernelLacksRefuseTheCell: a cell whose modules the guest kernel's modules.dep
// cannot resolve is refused with the kernel's reason, not planned as if they were there; one
// it can resolve gets its load order.
func TestModulesTheKernelLacksRefuseTheCell(t *testing.T) {
	dir := t.TempDir()
	dep := "kernel/drivers/virtio/virtio_pci.ko:\nkernel/drivers/char/virtio_console.ko:\n" +
		"kernel/fs/overlayfs/overlay.ko:\nkernel/net/9p/9pnet.ko:\nkernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko\n"
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := initramfs.ReadModules(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := fixedHost
	h.Modules, h.KernelModules = dir, idx
	e := parse(t, "version: 1\nname: t\ntree: {path: "+t.TempDir()+"}\nguest: {mountpoint: /t}\n"+
		"workload: {builtin: read-all}\ncache: [asis]\nmethods:\n  - 9p: {}\n")
	cells, err := Expand(e, h, fixedDirs, Choices{})
	if err != nil {
		t.Fatal(err)
	}
	want := `the guest kernel cannot load the cell's modules: module closure: module "9p" is not in ` + dir
	if got := cells[0].Refused; !strings.HasPrefix(got, want) {
		t.Errorf("refused %q, want it to start %q", got, want)
	}
	dep += "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko\n"
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if h.KernelModules, err = initramfs.ReadModules(dir); err != nil {
		t.Fatal(err)
	}
	if cells, err = Expand(e, h, fixedDirs, Choices{}); err != nil {
		t.Fatal(err)
	}
	if c := cells[0]; c.Refused != "" || strings.Join(c.LoadOrder, " ") != "virtio_pci virtio_console 9pnet 9pnet_virtio 9p overlay" {
		t.Errorf("refused %q, load order %q", c.Refused, c.LoadOrder)
	}
}
