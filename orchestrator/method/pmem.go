package method

import (
	"fmt"
	"os"

	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// Pmem is an image file mapped into the guest as persistent memory (virtio-pmem); the guest
// names the devices /dev/pmem0, /dev/pmem1, ... in the order QEMU gets them and mounts them
// with DAX, reading the host's page cache directly. Size is a multiple of qemu.PmemAlign and
// the file holds at least that much. A shared device is read-only to the guest; a Private
// one is mapped copy-on-write: the guest may write, and its writes stay in QEMU's memory,
// never in the file.
type Pmem struct {
	Path    string
	Size    int64
	Private bool
}

// Option implements Device.
func (d Pmem) Option() qemu.Fn { return qemu.PmemDevice(d.Path, d.Size, !d.Private, !d.Private) }

// deviceParam is the parameter of the image methods that can map their image as
// persistent memory instead of attaching it as a disk.
var deviceParam = param.Def{Name: "device", Kind: param.KindEnum, Default: "blk", Enum: []string{"blk", "pmem"},
	Help: "how the image reaches the guest: a virtio-blk disk, or virtio-pmem mounted with DAX (x86_64, aarch64)"}

// daxAlignParam aligns the file data of an image mapped as pmem to 2 MiB, so that the guest
// can map it in 2 MiB pages: a DAX fault maps a whole PMD only where the file's blocks are
// 2 MiB-aligned and contiguous on the device (and the mapping is aligned and large enough);
// otherwise it falls back to 4 KiB pages. Each cell counts both (results' dax_faults).
var daxAlignParam = param.Def{Name: "dax_align", Kind: param.KindEnum, Default: "4KiB", Enum: []string{"4KiB", "2MiB"},
	Help: "with device: pmem, align file data to 2 MiB on the device so the guest can take 2 MiB (PMD) DAX faults: erofs --dsunit=512 (erofs-utils 1.8+), ext4 bigalloc with 2 MiB clusters (each file and directory then takes 2 MiB of the sparse image)"}

// daxAlign is the 2 MiB alignment's unit in 4 KiB blocks.
const daxAlignBlocks = 512

// daxAligned says whether the cell aligns its image's file data to 2 MiB; an alignment
// without device: pmem is an error of the spec.
func daxAligned(method string, p Params) (bool, error) {
	if p.Str("dax_align") != "2MiB" {
		return false, nil
	}
	if !pmemWanted(p) {
		return false, fmt.Errorf("%s dax_align: 2MiB applies to device: pmem (a disk is read through the block layer, not mapped)", method)
	}
	return true, nil
}

// pmemDevice is the guest's name of the first virtio-pmem device.
const pmemDevice = "/dev/pmem0"

// pmemModules bring up a virtio-pmem device as /dev/pmem0: the nvdimm bus, its block
// translation table and pmem drivers, and the virtio transport.
var pmemModules = []string{"libnvdimm", "nd_btt", "nd_pmem", "nd_virtio", "virtio_pmem"}

// pmemOptions are the mount options of a file system on a pmem device.
const pmemOptions = "dax=always"

// pmemWanted says whether the cell maps its image as persistent memory.
func pmemWanted(p Params) bool { return p.Str("device") == "pmem" }

// pmemRefusal says why the cell cannot map its image as persistent memory here, or nil.
// DAX maps the file system's blocks as pages, so its block size must be the guest's page
// size: the images are built with 4 KiB blocks (mkfs.erofs takes the host's page size), and
// the guests of the architecture table have 4 KiB pages.
func pmemRefusal(method string, c Config) error {
	if err := pmemArchRefusal(method, c.Arch); err != nil {
		return err
	}
	if ps := os.Getpagesize(); ps != 4096 {
		return fmt.Errorf("%s device: pmem needs 4 KiB blocks, as the guest's pages are, but this host's page size is %d", method, ps)
	}
	return nil
}

// pmemArchRefusal refuses pmem on a guest architecture whose machine has no virtio-pmem
// device, whatever the host.
func pmemArchRefusal(method, arch string) error {
	if arch == "riscv64" {
		return fmt.Errorf("%s device: pmem cannot work on riscv64: QEMU's virt machine has no virtio-pmem device (use device: blk)", method)
	}
	return nil
}

// pmemSize is the device size of an image of n bytes: n rounded up to what QEMU maps.
func pmemSize(n int64) int64 { return roundUp(max(n, 1), qemu.PmemAlign) }
