package qemu

import (
	"context"
	"slices"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// TestDeviceModels asks the real binaries: every device vmfsbench attaches is in each list,
// and virtio-pmem-pci is in x86_64's alone (Debian 12's QEMU 7.2; LAB.md).
func TestDeviceModels(t *testing.T) {
	common := []string{"virtio-blk-pci", "virtio-9p-pci", "vhost-user-fs-pci", "virtio-serial-pci", "virtserialport", "virtio-net-pci"}
	for _, tc := range []struct {
		arch Arch
		pmem bool
	}{{X86_64, true}, {AArch64, false}, {RISCV64, false}} {
		bin := testenv.Tool(t, tc.arch.Binary())[0]
		models, err := DeviceModels(context.Background(), bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range common {
			if !slices.Contains(models, m) {
				t.Errorf("%s: no %s in %d models", bin, m, len(models))
			}
		}
		if got := slices.Contains(models, "virtio-pmem-pci"); got != tc.pmem {
			v, _ := Version(context.Background(), bin)
			t.Errorf("%s (QEMU %s): virtio-pmem-pci listed %v, want %v", bin, v, got, tc.pmem)
		}
	}
}

func TestParseDeviceHelp(t *testing.T) {
	out := "Storage devices:\nname \"virtio-9p-pci\", bus PCI, alias \"virtio-9p\"\nname \"virtio-blk-pci\", bus PCI, alias \"virtio-blk\"\n\n" +
		"Misc devices:\nname \"virtio-pmem-pci\", bus PCI\nname \"virtio-9p-pci\", bus PCI\n"
	want := []string{"virtio-9p", "virtio-9p-pci", "virtio-blk", "virtio-blk-pci", "virtio-pmem-pci"}
	if got := parseDeviceHelp(out); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	argv := []string{"qemu", "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=c,name=ctl",
		"-device", "virtio-serial-pci", "-append", "-device x"}
	if got := ModelsOf(argv); !slices.Equal(got, []string{"virtio-serial-pci", "virtserialport"}) {
		t.Errorf("ModelsOf = %q", got)
	}
}
