package method

import (
	"fmt"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// blkParams are the parameters of an image method's virtio-blk disk (device: blk): the
// host's I/O path and the guest's transport. Their defaults are QEMU's, and a cell that
// keeps them all gets the command line it always had.
var blkParams = []param.Def{
	{Name: "aio", Kind: param.KindEnum, Default: qemu.AIOThreads, Enum: qemu.AIOModes,
		Help: "how QEMU submits the disk's I/O on the host: its thread pool, Linux AIO (native, needs cache_direct: true) or io_uring (QEMU built with liburing)"},
	{Name: "cache_direct", Kind: param.KindEnum, Default: "false", Enum: []string{"false", "true"}, Schema: boolSchema,
		Help: "open the image with O_DIRECT (cache.direct=on), past the host page cache: a warm host cache then does not help"},
	{Name: "iothread", Kind: param.KindEnum, Default: "false", Enum: []string{"false", "true"}, Schema: boolSchema,
		Help: "run the disk's requests in an iothread of their own, off QEMU's main loop"},
	{Name: "queues", Kind: param.KindInt, Default: int64(0), Min: 0, Max: 1024,
		Help: "virtio-blk num-queues; 0 leaves QEMU's default (one per vCPU on PCI since QEMU 5.2)"},
	{Name: "bus", Kind: param.KindEnum, Default: qemu.BusPCI, Enum: qemu.Buses,
		Help: "the disks' transport: virtio-blk-pci, or virtio-blk-device on the virt machine's virtio-mmio bus (aarch64, riscv64) as the study and LLVM's RISC-V buildbot attach them"},
}

// boolSchema is the JSON Schema of a yes/no parameter: YAML's true and false, or the words.
var boolSchema = map[string]any{"enum": []any{false, true, "false", "true"}}

// blkParamsAnd is the table of the image methods that can map their image as pmem: their
// own parameters, then device, dax_align and the block parameters.
func blkParamsAnd(own ...param.Def) []param.Def {
	return append(append(own, deviceParam, daxAlignParam), blkParams...)
}

// blockOf is the cell's virtio-blk options. A block parameter set on a cell whose image is
// not a disk, aio: native without cache_direct: true, and bus: mmio on a machine without
// the bus are errors of the spec; what the host's QEMU lacks (its feature probe) is returned
// as the cell's refusal.
func blockOf(method string, c Config) (b qemu.Block, refused string, err error) {
	b = qemu.Block{AIO: c.Params.Str("aio"), Direct: c.Params.Str("cache_direct") == "true",
		IOThread: c.Params.Str("iothread") == "true", Queues: int(c.Params.Int("queues")), Bus: c.Params.Str("bus")}
	if pmemWanted(c.Params) {
		var set []string
		for _, d := range blkParams {
			if v, ok := c.Params[d.Name]; ok && v != d.Default {
				set = append(set, d.Name+": "+d.FormatValue(v))
			}
		}
		if len(set) > 0 {
			return qemu.Block{}, "", fmt.Errorf("%s %s: the block parameters apply to device: blk, and this cell maps its image as pmem", method, strings.Join(set, ", "))
		}
		return qemu.Block{}, "", nil
	}
	if b.AIO == qemu.AIONative && !b.Direct {
		return b, "", fmt.Errorf("%s aio: native needs cache_direct: true (QEMU's Linux AIO submits O_DIRECT requests only)", method)
	}
	if b.Bus == qemu.BusMMIO && c.Arch == "x86_64" {
		return b, "", fmt.Errorf("%s bus: mmio needs a machine with a virtio-mmio bus, and x86_64's q35 has none (the virt machine of aarch64 and riscv64 has)", method)
	}
	if caps, ok := c.Tools["qemu"].Detail.(qemu.Caps); ok && caps.Features != nil {
		feats := caps.Features
		var why []string
		for _, f := range b.Needs() {
			if err, probed := feats[f]; probed && err != nil {
				why = append(why, err.Error())
			}
		}
		if len(why) > 0 {
			refused = fmt.Sprintf("this QEMU cannot give the cell's disk %s", strings.Join(why, "; "))
		}
	}
	return b, refused, nil
}

// blkModules are the guest modules of the cell's disks besides virtio_blk: the virtio-mmio
// transport (a module in Debian's kernels) for bus: mmio.
func blkModules(b qemu.Block) []string {
	if b.Bus == qemu.BusMMIO {
		return []string{"virtio_mmio"}
	}
	return nil
}

// QEMUFeatures lists what the cell of p needs of QEMU beyond its defaults, for the host
// probe to ask the binary before planning.
func QEMUFeatures(p Params) []qemu.Feature {
	if pmemWanted(p) {
		return nil
	}
	return qemu.Block{AIO: p.Str("aio"), Direct: p.Str("cache_direct") == "true", IOThread: p.Str("iothread") == "true", Bus: p.Str("bus")}.Needs()
}

// DiskBus is the bus of the cell's disks: mmio when one of devs is a disk on the
// virtio-mmio bus. Every disk of a cell is on one bus, so that the guest names them vda,
// vdb, ... in the order QEMU gets them (a PCI disk and an MMIO disk are found in the order
// their transports' drivers load).
func DiskBus(devs []Device) string {
	for _, d := range devs {
		if d, ok := d.(Disk); ok && d.Block.Bus == qemu.BusMMIO {
			return qemu.BusMMIO
		}
	}
	return qemu.BusPCI
}

// joinRefusals joins the reasons a cell is refused, leaving out empty ones.
func joinRefusals(why ...string) string {
	var out []string
	for _, w := range why {
		if w != "" {
			out = append(out, w)
		}
	}
	return strings.Join(out, "; ")
}
