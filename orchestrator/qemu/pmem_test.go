package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPmemDevice checks the argv of virtio-pmem devices: -m gains slots and a maxmem that
// covers RAM and every device, each device is a memory-backend-file (shared and read-only,
// or private) and a virtio-pmem-pci; and what QEMU would refuse is refused here.
func TestPmemDevice(t *testing.T) {
	f := newFixture(t)
	img := filepath.Join(f.dir, "tree.erofs")
	img2 := filepath.Join(f.dir, "a,b.ext4")
	small := filepath.Join(f.dir, "small.img")
	for p, size := range map[string]int64{img: 16 << 20, img2: 64 << 20, small: 1 << 20} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
	}
	stdio := []string{"-serial", "stdio"}
	kernel := []string{"-kernel", f.kernel}
	x86Append := []string{"-append", "console=ttyS0 panic=-1 quiet no_timer_check"}
	for _, tt := range []struct {
		name string
		arch Arch
		fns  []Fn
		want []string
		err  error
	}{
		{
			name: "one shared read-only device",
			fns:  []Fn{WithKernel(f.kernel), WithMemory(1 << 30), PmemDevice(img, 16<<20, true, true)},
			want: cat(head("qemu-system-x86_64", "q35", "tcg", "max", "1", "1024M,slots=2,maxmem=1040M"), stdio, kernel, x86Append, []string{
				"-object", "memory-backend-file,id=pm0,share=on,mem-path=" + img + ",size=16777216,readonly=on",
				"-device", "virtio-pmem-pci,memdev=pm0"}),
		},
		{
			name: "a private device and a shared one, commas doubled, default memory",
			fns:  []Fn{WithKernel(f.kernel), PmemDevice(img2, 64<<20, false, false), PmemDevice(img, 16<<20, true, true)},
			want: cat(head("qemu-system-x86_64", "q35", "tcg", "max", "1", "2048M,slots=2,maxmem=2128M"), stdio, kernel, x86Append, []string{
				"-object", "memory-backend-file,id=pm0,share=off,mem-path=" + filepath.Join(f.dir, "a,,b.ext4") + ",size=67108864",
				"-device", "virtio-pmem-pci,memdev=pm0",
				"-object", "memory-backend-file,id=pm1,share=on,mem-path=" + img + ",size=16777216,readonly=on",
				"-device", "virtio-pmem-pci,memdev=pm1"}),
		},
		{
			name: "with virtiofs's shared RAM",
			fns:  []Fn{WithKernel(f.kernel), WithMemory(1 << 30), VhostUserFS("/run/v.sock", "tree", 0), PmemDevice(img, 16<<20, true, true)},
			want: cat(head("qemu-system-x86_64", "q35", "tcg", "max", "1", "1024M,slots=2,maxmem=1040M"), []string{
				"-object", "memory-backend-memfd,id=mem0,size=1024M,share=on", "-numa", "node,memdev=mem0"},
				stdio, kernel, x86Append, []string{
					"-chardev", "socket,id=chr0,path=/run/v.sock", "-device", "vhost-user-fs-pci,chardev=chr0,tag=tree",
					"-object", "memory-backend-file,id=pm0,share=on,mem-path=" + img + ",size=16777216,readonly=on",
					"-device", "virtio-pmem-pci,memdev=pm0"}),
		},
		{name: "riscv64's virt has no virtio-pmem", arch: RISCV64,
			fns: []Fn{WithKernel(f.kernel), PmemDevice(img, 16<<20, true, true)}, err: ErrBadPmem},
		{name: "size not a multiple of 2 MiB", fns: []Fn{WithKernel(f.kernel), PmemDevice(img, 3<<20, true, true)}, err: ErrBadPmem},
		{name: "file shorter than the device", fns: []Fn{WithKernel(f.kernel), PmemDevice(small, 2<<20, true, true)}, err: ErrBadPmem},
		{name: "missing file", fns: []Fn{WithKernel(f.kernel), PmemDevice(filepath.Join(f.dir, "nope"), 2<<20, true, true)}, err: ErrBadPath},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fns := tt.fns
			if tt.arch != "" {
				fns = append([]Fn{WithArch(tt.arch)}, fns...)
			}
			got, err := Build(fns...)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("argv\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	// A plan's paths may not exist yet: only the size's alignment is checked.
	if _, err := BuildUnchecked(WithKernel("$RUN/k"), PmemDevice("$RUN/work/x/tree.erofs", 4<<20, true, true)); err != nil {
		t.Errorf("BuildUnchecked: %v", err)
	}
}
