package run

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/results"
)

// needArchGuest makes sure a guest of arch a can boot: its QEMU and a fetched kernel
// (`vmfsbench kernel fetch --arch`, which `make kernel` runs for every arch).
func needArchGuest(t *testing.T, a arch.Arch) {
	t.Helper()
	testenv.NotShort(t, "booting guests")
	testenv.Tool(t, a.QEMUBinary)
	cache, err := kernel.CacheDir()
	testenv.Need(t, "the cache directory", err)
	_, err = kernel.Find(cache, a.Name)
	testenv.Need(t, "no "+a.Name+" kernel (make kernel, or vmfsbench kernel fetch --arch "+a.Name+")", err)
}

// TestForeignArchEveryMethod boots an aarch64 and a riscv64 guest (TCG) over every method
// on a small tree with the seed's exclusions and owner: every cell must be ok, its digest
// the host's. riscv64's kernel is Debian 13's (.ko.xz modules, no modules.dep shipped). One
// image method per arch is on the virtio-mmio bus (virtio-blk-device), and riscv64's 9p uses
// Linux 6.4's cache=readahead, which its 6.12 kernel takes.
func TestForeignArchEveryMethod(t *testing.T) {
	for _, name := range []string{"aarch64", "riscv64"} {
		t.Run(name, func(t *testing.T) {
			a, err := arch.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			needArchGuest(t, a)
			// The image of one method goes on the virtio-mmio bus, as the study and LLVM's
			// RISC-V buildbot attach it: on riscv64 with a scratch disk behind it (both on
			// the bus, named in order), on aarch64 alone.
			mmio := map[string]string{"riscv64": "squashfs", "aarch64": "erofs"}[name]
			var methods []string
			for _, m := range method.Names() {
				switch {
				case m == "9p" && name == "riscv64":
					methods = append(methods, "9p: {cache: readahead}") // Linux 6.4's mode; the guest runs 6.12
				case m != mmio:
					methods = append(methods, m+": {}")
				case name == "riscv64":
					methods = append(methods, m+": {bus: mmio, upper: disk}")
				default:
					methods = append(methods, m+": {bus: mmio}")
				}
			}
			y := fmt.Sprintf(`version: 1
name: arch-%s
guest: {arch: %s}
qemu: {cpus: 2, memory: 1GiB, accel: tcg}
cache: [asis]
tree:
  synthetic: {files: 500, bytes: 2MiB, seed: 21}
  exclude: [.git, "build/*", "!build/stage2cross"]
workload: {builtin: read-all, timeout: 5m}
methods: [%s]
`, name, name, strings.Join(methods, ", "))
			r, cells := startRunner(t, y, nil)
			ctx := context.Background()
			if len(cells) != len(methods) {
				t.Fatalf("%d cells, want one per method (%d)", len(cells), len(methods))
			}
			for _, c := range cells {
				res := r.RunCell(ctx, c)
				if res.Status != results.StatusOK {
					t.Errorf("%s on %s: %s: %s", c.Method, name, res.Status, res.Error)
					continue
				}
				if res.DigestOK == nil || !*res.DigestOK {
					t.Errorf("%s on %s: digest %s does not match the host's", c.Method, name, res.Digest)
				}
				if boot := bootCommand(t, res); (c.Method == mmio) != strings.Contains(boot, "virtio-blk-device") {
					t.Errorf("%s on %s: virtio-blk-device in the boot command %v, want %v: %s", c.Method, name, !(c.Method == mmio), c.Method == mmio, boot)
				}
				t.Logf("ARCH %s %-10s total %6.2fs boot %5.2fs workload %6.2fs facts %v", name, c.Method, res.Total, res.Phases["boot"], res.Guest.WorkloadSeconds, res.Facts)
			}
		})
	}
}
