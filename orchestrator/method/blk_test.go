package method

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// TestBlockParams plans the image methods with the block parameters: the disk gets them, a
// scratch disk shares the bus, bus: mmio adds the transport's module, and what the spec
// contradicts is an error while what this QEMU lacks (its probe) refuses the cell.
func TestBlockParams(t *testing.T) {
	noURing := qemu.Features{qemu.FeatureIOURing: errors.New("qemu-system-x86_64 aio=io_uring: exit status 1: Parameter 'aio' does not accept value 'io_uring'")}
	for _, tc := range []struct {
		name   string
		m      Method
		arch   string
		params Params
		feats  qemu.Features
		want   qemu.Block // of the first disk
		err    string     // Plan's error
		refuse string     // the plan's refusal
	}{
		{name: "erofs every host knob", m: Erofs{}, arch: "x86_64",
			params: Params{"compression": "none", "upper": "tmpfs", "device": "blk", "aio": "io_uring", "cache_direct": "true", "iothread": "true", "queues": int64(2), "bus": "pci"},
			want:   qemu.Block{AIO: "io_uring", Direct: true, IOThread: true, Queues: 2, Bus: "pci"}},
		{name: "squashfs on mmio with a scratch disk", m: Squashfs{}, arch: "riscv64",
			params: Params{"compression": "none", "block_size": int64(131072), "upper": "disk", "aio": "threads", "cache_direct": "false", "iothread": "false", "queues": int64(0), "bus": "mmio"},
			want:   qemu.Block{AIO: "threads", Bus: "mmio"}},
		{name: "ext4 native", m: Ext4{}, arch: "aarch64",
			params: Params{"size": "auto", "device": "blk", "aio": "native", "cache_direct": "true", "bus": "pci"},
			want:   qemu.Block{AIO: "native", Direct: true, Bus: "pci"}},
		{name: "native without cache_direct", m: Ext4{}, arch: "x86_64",
			params: Params{"size": "auto", "device": "blk", "aio": "native", "cache_direct": "false"},
			err:    "ext4 aio: native needs cache_direct: true"},
		{name: "mmio on x86_64", m: Squashfs{}, arch: "x86_64",
			params: Params{"compression": "none", "upper": "tmpfs", "bus": "mmio"},
			err:    "squashfs bus: mmio needs a machine with a virtio-mmio bus, and x86_64's q35 has none"},
		{name: "block knobs on pmem", m: Erofs{}, arch: "x86_64",
			params: Params{"compression": "none", "upper": "tmpfs", "device": "pmem", "aio": "threads", "iothread": "true", "queues": int64(4)},
			err:    "erofs iothread: true, queues: 4: the block parameters apply to device: blk"},
		{name: "io_uring lacking in QEMU refuses the cell", m: Erofs{}, arch: "x86_64",
			params: Params{"compression": "none", "upper": "tmpfs", "device": "blk", "aio": "io_uring"},
			feats:  noURing, want: qemu.Block{AIO: "io_uring"},
			refuse: "this QEMU cannot give the cell's disk qemu-system-x86_64 aio=io_uring: exit status 1: Parameter 'aio' does not accept value 'io_uring'"},
		{name: "a feature probed fine does not refuse", m: Squashfs{}, arch: "x86_64",
			params: Params{"compression": "none", "upper": "tmpfs", "aio": "threads"},
			feats:  noURing, want: qemu.Block{AIO: "threads"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Tree: "/src/tree", Work: "/run/work", Sockets: "/run/s", Mountpoint: "/root/tree", Arch: tc.arch,
				Params: tc.params, Size: TreeSize{Files: 10, Dirs: 3, Bytes: 5 << 20, Inodes: 15, Blocks: 1300}}
			c = withTools(tc.m, c)
			c.Tools["qemu"] = HostTool{Path: "/usr/bin/qemu", Detail: qemu.Caps{Features: tc.feats}}
			p, err := tc.m.Plan(c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Plan: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Refused, tc.refuse) || (tc.refuse == "") != (p.Refused == "") {
				t.Errorf("refused %q, want %q", p.Refused, tc.refuse)
			}
			d, ok := p.Devices[0].(Disk)
			if !ok || d.Block != tc.want {
				t.Fatalf("first device %+v, want a disk with %+v", p.Devices[0], tc.want)
			}
			for _, dev := range p.Devices[1:] {
				if s, ok := dev.(Disk); ok && s.Block.Bus != d.Block.Bus {
					t.Errorf("scratch disk on bus %q, the tree's on %q", s.Block.Bus, d.Block.Bus)
				}
			}
			if mmio := slices.Contains(p.Modules, "virtio_mmio"); mmio != (tc.want.Bus == "mmio") {
				t.Errorf("modules %v: virtio_mmio %v for bus %q", p.Modules, mmio, tc.want.Bus)
			}
			if got, want := DiskBus(p.Devices), map[bool]string{true: "mmio", false: "pci"}[tc.want.Bus == "mmio"]; got != want {
				t.Errorf("DiskBus = %q, want %q", got, want)
			}
		})
	}
}

// TestQEMUFeatures: the host probe asks QEMU only for what a cell needs beyond its defaults.
func TestQEMUFeatures(t *testing.T) {
	for _, tc := range []struct {
		p    Params
		want []qemu.Feature
	}{
		{Params{"aio": "threads", "bus": "pci"}, nil},
		{Params{"aio": "io_uring", "bus": "mmio"}, []qemu.Feature{qemu.FeatureIOURing, qemu.FeatureMMIO}},
		{Params{"aio": "native", "cache_direct": "true", "iothread": "true", "bus": "mmio"}, []qemu.Feature{qemu.FeatureNative, qemu.FeatureMMIO, qemu.FeatureMMIOIOThread}},
		{Params{"aio": "io_uring", "device": "pmem"}, nil},
		{Params{"cache": "always"}, nil}, // not an image method
	} {
		if got := QEMUFeatures(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("QEMUFeatures(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}
