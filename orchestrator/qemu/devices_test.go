package qemu

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture holds real files for the options that stat their inputs.
type fixture struct {
	dir, kernel, initrd, disk, disk2, share, commaDisk string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{
		dir:       dir,
		kernel:    filepath.Join(dir, "vmlinuz"),
		initrd:    filepath.Join(dir, "initrd.cpio"),
		disk:      filepath.Join(dir, "tree.squashfs"),
		disk2:     filepath.Join(dir, "tree.ext4"),
		share:     filepath.Join(dir, "tree"),
		commaDisk: filepath.Join(dir, "a,b.img"),
	}
	for _, p := range []string{f.kernel, f.initrd, f.disk, f.disk2, f.commaDisk} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(f.share, 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// head is the argv Build always starts with.
func head(binary, machine, accel, cpu, smp, mem string) []string {
	return []string{binary, "-nodefaults", "-display", "none", "-no-reboot",
		"-machine", machine, "-accel", accel, "-cpu", cpu, "-smp", smp, "-m", mem}
}

func cat(parts ...[]string) []string { return slices.Concat(parts...) }

func TestBuild(t *testing.T) {
	f := newFixture(t)
	x86 := head("qemu-system-x86_64", "q35", "tcg", "max", "1", "2048M")
	stdio := []string{"-serial", "stdio"}
	kernel := []string{"-kernel", f.kernel}
	x86Append := []string{"-append", "console=ttyS0 panic=-1 quiet no_timer_check"}
	long := strings.Repeat("s", 100)

	for _, tt := range []struct {
		name string
		arch Arch
		fns  []Fn
		want []string
		err  error
	}{
		{
			name: "x86_64 defaults",
			fns:  []Fn{WithKernel(f.kernel)},
			want: []string{"qemu-system-x86_64", "-nodefaults", "-display", "none", "-no-reboot",
				"-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "2048M",
				"-serial", "stdio",
				"-kernel", f.kernel,
				"-append", "console=ttyS0 panic=-1 quiet no_timer_check"},
		},
		{
			name: "aarch64 everything but devices",
			arch: AArch64,
			fns: []Fn{
				WithAppend("vmfsbench.job=/job.json", "loglevel=4"),
				WithKernel(f.kernel), WithInitrd(f.initrd),
				WithCPUs(4), WithMemory(3 << 30), WithAccel("kvm"),
				WithConsoleLog(filepath.Join(f.dir, "console.log")),
			},
			want: []string{"qemu-system-aarch64", "-nodefaults", "-display", "none", "-no-reboot",
				"-machine", "virt,gic-version=max", "-accel", "kvm", "-cpu", "max", "-smp", "4", "-m", "3072M",
				"-chardev", "file,id=con0,path=" + filepath.Join(f.dir, "console.log"),
				"-serial", "chardev:con0",
				"-kernel", f.kernel, "-initrd", f.initrd,
				"-append", "console=ttyAMA0 panic=-1 quiet vmfsbench.job=/job.json loglevel=4"},
		},
		{
			name: "riscv64 two block devices",
			arch: RISCV64,
			fns: []Fn{
				WithKernel(f.kernel), WithCPUs(32),
				BlockDevice(f.disk, true, false),
				BlockDevice(f.disk2, false, true),
			},
			want: cat(head("qemu-system-riscv64", "virt", "tcg", "rv64", "32", "2048M"), stdio, kernel,
				[]string{"-append", "console=ttyS0 panic=-1 quiet earlycon=uart8250,mmio,0x10000000 loglevel=7",
					"-drive", "file=" + f.disk + ",if=none,id=drive0,format=raw,readonly=on",
					"-device", "virtio-blk-pci,drive=drive0",
					"-drive", "file=" + f.disk2 + ",if=none,id=drive1,format=raw,snapshot=on",
					"-device", "virtio-blk-pci,drive=drive1"}),
		},
		{
			name: "blockdev: every host knob, then a snapshot disk with them on -drive",
			fns: []Fn{
				WithKernel(f.kernel),
				BlockDeviceWith(f.disk, true, false, Block{AIO: AIOIOURing, Direct: true, IOThread: true, Queues: 2}),
				BlockDeviceWith(f.disk2, false, true, Block{AIO: AIONative, Direct: true, IOThread: true, Queues: 4}),
			},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-blockdev", "driver=file,node-name=file0,filename=" + f.disk + ",aio=io_uring,cache.direct=on,read-only=on",
				"-blockdev", "driver=raw,node-name=drive0,file=file0,read-only=on",
				"-object", "iothread,id=io0",
				"-device", "virtio-blk-pci,drive=drive0,iothread=io0,num-queues=2",
				"-drive", "file=" + f.disk2 + ",if=none,id=drive1,format=raw,snapshot=on,aio=native,cache.direct=on",
				"-object", "iothread,id=io1",
				"-device", "virtio-blk-pci,drive=drive1,iothread=io1,num-queues=4"}),
		},
		{
			name: "aio threads alone keeps -drive",
			fns:  []Fn{WithKernel(f.kernel), BlockDeviceWith(f.disk, true, false, Block{AIO: AIOThreads, Bus: BusPCI})},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-drive", "file=" + f.disk + ",if=none,id=drive0,format=raw,readonly=on",
				"-device", "virtio-blk-pci,drive=drive0"}),
		},
		{
			name: "riscv64 disks on the virtio-mmio bus",
			arch: RISCV64,
			fns: []Fn{
				WithKernel(f.kernel),
				BlockDeviceWith(f.disk, true, false, Block{Bus: BusMMIO}),
				BlockDeviceWith(f.disk2, false, false, Block{Bus: BusMMIO, IOThread: true}),
			},
			want: cat(head("qemu-system-riscv64", "virt", "tcg", "rv64", "1", "2048M"), stdio, kernel,
				[]string{"-append", "console=ttyS0 panic=-1 quiet earlycon=uart8250,mmio,0x10000000 loglevel=7",
					"-drive", "file=" + f.disk + ",if=none,id=drive0,format=raw,readonly=on",
					"-device", "virtio-blk-device,drive=drive0",
					"-blockdev", "driver=file,node-name=file0,filename=" + f.disk2,
					"-blockdev", "driver=raw,node-name=drive1,file=file0",
					"-object", "iothread,id=io0",
					"-device", "virtio-blk-device,drive=drive1,iothread=io0"}),
		},
		{
			name: "comma in a path is doubled",
			fns:  []Fn{WithKernel(f.kernel), BlockDevice(f.commaDisk, true, true)},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-drive", "file=" + filepath.Join(f.dir, "a,,b.img") + ",if=none,id=drive0,format=raw,readonly=on,snapshot=on",
				"-device", "virtio-blk-pci,drive=drive0"}),
		},
		{
			name: "9p read-only and read-write shares",
			fns: []Fn{
				WithKernel(f.kernel),
				VirtFS(f.share, "tree", "none", true),
				VirtFS(f.dir, strings.Repeat("t", 31), "mapped-xattr", false),
			},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-fsdev", "local,id=fs0,path=" + f.share + ",security_model=none,readonly=on",
				"-device", "virtio-9p-pci,fsdev=fs0,mount_tag=tree",
				"-fsdev", "local,id=fs1,path=" + f.dir + ",security_model=mapped-xattr",
				"-device", "virtio-9p-pci,fsdev=fs1,mount_tag=" + strings.Repeat("t", 31)}),
		},
		{
			name: "virtiofs adds a memfd backend of -m's size, memory given after",
			fns: []Fn{
				WithKernel(f.kernel),
				VhostUserFS("/run/vfs.sock", "tree", 1024),
				WithMemory(4 << 30),
			},
			want: cat(head("qemu-system-x86_64", "q35", "tcg", "max", "1", "4096M"), []string{
				"-object", "memory-backend-memfd,id=mem0,size=4096M,share=on",
				"-numa", "node,memdev=mem0"},
				stdio, kernel, x86Append, []string{
					"-chardev", "socket,id=chr0,path=/run/vfs.sock",
					"-device", "vhost-user-fs-pci,queue-size=1024,chardev=chr0,tag=tree"}),
		},
		{
			name: "virtiofs memory given before, default queue size, one backend for two devices",
			arch: AArch64,
			fns: []Fn{
				WithMemory(512 << 20),
				WithKernel(f.kernel),
				VhostUserFS("vfs.sock", "a", 0),
				VhostUserFS("vfs2.sock", strings.Repeat("b", 36), 64),
			},
			want: cat(head("qemu-system-aarch64", "virt,gic-version=max", "tcg", "max", "1", "512M"), []string{
				"-object", "memory-backend-memfd,id=mem0,size=512M,share=on",
				"-numa", "node,memdev=mem0"},
				[]string{"-serial", "stdio", "-kernel", f.kernel, "-append", "console=ttyAMA0 panic=-1 quiet",
					"-chardev", "socket,id=chr0,path=vfs.sock",
					"-device", "vhost-user-fs-pci,chardev=chr0,tag=a",
					"-chardev", "socket,id=chr1,path=vfs2.sock",
					"-device", "vhost-user-fs-pci,queue-size=64,chardev=chr1,tag=" + strings.Repeat("b", 36)}),
		},
		{
			name: "two serial ports share one virtio-serial-pci",
			fns: []Fn{
				WithKernel(f.kernel),
				VirtioSerialPort("ctl", "/tmp/ctl.sock"),
				VirtioSerialPort("data", "/tmp/data.sock"),
			},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-device", "virtio-serial-pci",
				"-chardev", "socket,id=chr0,path=/tmp/ctl.sock",
				"-device", "virtserialport,chardev=chr0,name=ctl",
				"-chardev", "socket,id=chr1,path=/tmp/data.sock",
				"-device", "virtserialport,chardev=chr1,name=data"}),
		},
		{
			name: "server port: QEMU listens, the host connects later",
			fns: []Fn{
				WithKernel(f.kernel),
				VirtioSerialPort("ctl", "/tmp/ctl.sock"),
				VirtioSerialServerPort("data", "/tmp/a b/data.sock"),
			},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-device", "virtio-serial-pci",
				"-chardev", "socket,id=chr0,path=/tmp/ctl.sock",
				"-device", "virtserialport,chardev=chr0,name=ctl",
				"-chardev", "socket,id=chr1,path=/tmp/a b/data.sock,server=on,wait=off",
				"-device", "virtserialport,chardev=chr1,name=data"}),
		},
		{
			name: "server port alone adds the bus",
			fns:  []Fn{WithKernel(f.kernel), VirtioSerialServerPort("data", "/tmp/x,y.sock")},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-device", "virtio-serial-pci",
				"-chardev", "socket,id=chr0,path=/tmp/x,,y.sock,server=on,wait=off",
				"-device", "virtserialport,chardev=chr0,name=data"}),
		},
		{
			name: "user net forwards loopback only",
			fns:  []Fn{WithKernel(f.kernel), UserNet(2222, 22)},
			want: cat(x86, stdio, kernel, x86Append, []string{
				"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22",
				"-device", "virtio-net-pci,netdev=net0,romfile="}),
		},
		{
			name: "overrides, raw args last, All",
			fns: []Fn{
				WithArgs("-S", "-d", "guest_errors"),
				All(WithBinary("qemu-system-x86_64-custom"), WithMachine("pc"), WithCPU("Skylake-Client")),
				WithKernel(f.kernel),
				All(),
				nil,
			},
			want: cat(head("qemu-system-x86_64-custom", "pc", "tcg", "Skylake-Client", "1", "2048M"),
				stdio, kernel, x86Append, []string{"-S", "-d", "guest_errors"}),
		},
		{
			name: "mixed devices keep option order, ids per class",
			fns: []Fn{
				WithKernel(f.kernel),
				VirtioSerialPort("ctl", "/tmp/ctl.sock"),
				VhostUserFS("/tmp/vfs.sock", "tree", 0),
				BlockDevice(f.disk, true, false),
				VirtioSerialPort("data", "/tmp/data.sock"),
			},
			want: cat(x86, []string{
				"-object", "memory-backend-memfd,id=mem0,size=2048M,share=on",
				"-numa", "node,memdev=mem0"}, stdio, kernel, x86Append, []string{
				"-device", "virtio-serial-pci",
				"-chardev", "socket,id=chr0,path=/tmp/ctl.sock",
				"-device", "virtserialport,chardev=chr0,name=ctl",
				"-chardev", "socket,id=chr1,path=/tmp/vfs.sock",
				"-device", "vhost-user-fs-pci,chardev=chr1,tag=tree",
				"-drive", "file=" + f.disk + ",if=none,id=drive0,format=raw,readonly=on",
				"-device", "virtio-blk-pci,drive=drive0",
				"-chardev", "socket,id=chr2,path=/tmp/data.sock",
				"-device", "virtserialport,chardev=chr2,name=data"}),
		},

		// Errors.
		{name: "no kernel", fns: []Fn{WithCPUs(2)}, err: ErrNoKernel},
		{name: "empty kernel path", fns: []Fn{WithKernel("")}, err: ErrNoKernel},
		{name: "missing kernel", fns: []Fn{WithKernel(filepath.Join(f.dir, "nope"))}, err: ErrNoKernel},
		{name: "missing kernel is also ErrNotExist", fns: []Fn{WithKernel(filepath.Join(f.dir, "nope"))}, err: fs.ErrNotExist},
		{name: "kernel is a directory", fns: []Fn{WithKernel(f.dir)}, err: ErrNoKernel},
		{name: "missing initrd", fns: []Fn{WithKernel(f.kernel), WithInitrd(filepath.Join(f.dir, "nope"))}, err: ErrNoInitrd},
		{name: "unknown arch", arch: "mips", fns: []Fn{WithKernel(f.kernel)}, err: ErrUnknownArch},
		{name: "zero memory", fns: []Fn{WithKernel(f.kernel), WithMemory(0)}, err: ErrBadMemory},
		{name: "memory not whole MiB", fns: []Fn{WithKernel(f.kernel), WithMemory(1000)}, err: ErrBadMemory},
		{name: "zero cpus", fns: []Fn{WithKernel(f.kernel), WithCPUs(0)}, err: ErrBadCPUs},
		{name: "accel auto not resolved", fns: []Fn{WithKernel(f.kernel), WithAccel("auto")}, err: ErrBadAccel},
		{name: "accel unknown", fns: []Fn{WithKernel(f.kernel), WithAccel("hvf")}, err: ErrBadAccel},
		{name: "empty machine", fns: []Fn{WithKernel(f.kernel), WithMachine(" ")}, err: ErrBadMachine},
		{name: "empty cpu", fns: []Fn{WithKernel(f.kernel), WithCPU("")}, err: ErrBadCPU},
		{name: "missing binary path", fns: []Fn{WithKernel(f.kernel), WithBinary(filepath.Join(f.dir, "qemu"))}, err: ErrNoBinary},
		{name: "empty binary", fns: []Fn{WithKernel(f.kernel), WithBinary("")}, err: ErrNoBinary},
		{name: "empty kernel arg", fns: []Fn{WithKernel(f.kernel), WithAppend("a", " ")}, err: ErrBadKernelArg},
		{name: "console log in missing dir", fns: []Fn{WithKernel(f.kernel), WithConsoleLog(filepath.Join(f.dir, "no", "c.log"))}, err: ErrBadPath},
		{name: "missing disk image", fns: []Fn{WithKernel(f.kernel), BlockDevice(filepath.Join(f.dir, "nope.img"), true, false)}, err: ErrBadPath},
		{name: "aio native without cache.direct", fns: []Fn{WithKernel(f.kernel), BlockDeviceWith(f.disk, true, false, Block{AIO: AIONative})}, err: ErrBadBlock},
		{name: "unknown aio", fns: []Fn{WithKernel(f.kernel), BlockDeviceWith(f.disk, true, false, Block{AIO: "posix"})}, err: ErrBadBlock},
		{name: "queues out of range", fns: []Fn{WithKernel(f.kernel), BlockDeviceWith(f.disk, true, false, Block{Queues: 1025})}, err: ErrBadBlock},
		{name: "mmio on x86_64's q35", fns: []Fn{WithKernel(f.kernel), BlockDeviceWith(f.disk, true, false, Block{Bus: BusMMIO})}, err: ErrBadBlock},
		{name: "mmio on aarch64 with another machine", arch: AArch64, fns: []Fn{WithKernel(f.kernel), WithMachine("sbsa-ref"), BlockDeviceWith(f.disk, true, false, Block{Bus: BusMMIO})}, err: ErrBadBlock},
		{name: "disk image is a directory", fns: []Fn{WithKernel(f.kernel), BlockDevice(f.share, true, false)}, err: ErrBadPath},
		{name: "9p share is a file", fns: []Fn{WithKernel(f.kernel), VirtFS(f.disk, "t", "none", true)}, err: ErrBadPath},
		{name: "9p tag of 32 bytes", fns: []Fn{WithKernel(f.kernel), VirtFS(f.share, strings.Repeat("t", 32), "none", true)}, err: ErrBadTag},
		{name: "9p tag with comma", fns: []Fn{WithKernel(f.kernel), VirtFS(f.share, "a,b", "none", true)}, err: ErrBadTag},
		{name: "9p bad security model", fns: []Fn{WithKernel(f.kernel), VirtFS(f.share, "t", "mapped", true)}, err: ErrBadSecurityModel},
		{name: "tag used by 9p and virtiofs", fns: []Fn{WithKernel(f.kernel), VirtFS(f.share, "t", "none", true), VhostUserFS("/s", "t", 0)}, err: ErrBadTag},
		{name: "virtiofs tag of 37 bytes", fns: []Fn{WithKernel(f.kernel), VhostUserFS("/s", strings.Repeat("t", 37), 0)}, err: ErrBadTag},
		{name: "virtiofs queue not a power of two", fns: []Fn{WithKernel(f.kernel), VhostUserFS("/s", "t", 1000)}, err: ErrBadQueueSize},
		{name: "virtiofs queue too large", fns: []Fn{WithKernel(f.kernel), VhostUserFS("/s", "t", 2048)}, err: ErrBadQueueSize},
		{name: "virtiofs queue negative", fns: []Fn{WithKernel(f.kernel), VhostUserFS("/s", "t", -1)}, err: ErrBadQueueSize},
		{name: "socket path too long", fns: []Fn{WithKernel(f.kernel), VhostUserFS("/tmp/"+long+".sock", "t", 0)}, err: ErrBadPath},
		{name: "empty socket path", fns: []Fn{WithKernel(f.kernel), VirtioSerialPort("ctl", "")}, err: ErrBadPath},
		{name: "serial port name twice", fns: []Fn{WithKernel(f.kernel), VirtioSerialPort("ctl", "/a"), VirtioSerialPort("ctl", "/b")}, err: ErrBadName},
		{name: "serial port name with comma", fns: []Fn{WithKernel(f.kernel), VirtioSerialPort("c,tl", "/a")}, err: ErrBadName},
		{name: "server port name used by a client port", fns: []Fn{WithKernel(f.kernel), VirtioSerialPort("data", "/a"), VirtioSerialServerPort("data", "/b")}, err: ErrBadName},
		{name: "server port empty name", fns: []Fn{WithKernel(f.kernel), VirtioSerialServerPort("", "/a")}, err: ErrBadName},
		{name: "server port socket path too long", fns: []Fn{WithKernel(f.kernel), VirtioSerialServerPort("data", "/tmp/"+long+".sock")}, err: ErrBadPath},
		{name: "host port 0", fns: []Fn{WithKernel(f.kernel), UserNet(0, 22)}, err: ErrBadPort},
		{name: "guest port too large", fns: []Fn{WithKernel(f.kernel), UserNet(2222, 70000)}, err: ErrBadPort},
		{name: "error inside All", fns: []Fn{All(WithKernel(f.kernel), WithCPUs(-1))}, err: ErrBadCPUs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fns := tt.fns
			if tt.arch != "" {
				fns = append([]Fn{WithArch(tt.arch)}, fns...)
			}
			got, err := Build(fns...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Build() error = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				if got != nil {
					t.Errorf("Build() = %q with error %v, want nil argv", got, err)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Build() argv mismatch\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestBuildOrderIndependent checks that memory and the virtiofs device give
// the same argv in either order, so Build, not the option, sizes the memfd.
func TestBuildOrderIndependent(t *testing.T) {
	f := newFixture(t)
	a, err := Build(WithKernel(f.kernel), WithMemory(1<<30), VhostUserFS("/s", "t", 0), WithArch(RISCV64))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(WithArch(RISCV64), VhostUserFS("/s", "t", 0), WithMemory(1<<30), WithKernel(f.kernel))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Errorf("argv depends on option order:\n%q\n%q", a, b)
	}
	if !slices.Contains(a, "memory-backend-memfd,id=mem0,size=1024M,share=on") {
		t.Errorf("no 1024M memfd backend in %q", a)
	}
}

func TestRelativePathsBecomeAbsolute(t *testing.T) {
	f := newFixture(t)
	t.Chdir(f.dir)
	got, err := Build(WithKernel("vmlinuz"), WithInitrd("initrd.cpio"), BlockDevice("tree.ext4", false, false), VirtFS("tree", "t", "none", true))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		f.kernel, f.initrd,
		"file=" + f.disk2 + ",if=none,id=drive0,format=raw",
		"local,id=fs0,path=" + f.share + ",security_model=none,readonly=on",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("argv %q lacks %q", got, want)
		}
	}
}

func TestParseArch(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    Arch
		err     error
		binary  string
		machine string
		cpu     string
		console string
	}{
		{in: "x86_64", want: X86_64, binary: "qemu-system-x86_64", machine: "q35", cpu: "max", console: "ttyS0"},
		{in: "aarch64", want: AArch64, binary: "qemu-system-aarch64", machine: "virt,gic-version=max", cpu: "max", console: "ttyAMA0"},
		{in: "riscv64", want: RISCV64, binary: "qemu-system-riscv64", machine: "virt", cpu: "rv64", console: "ttyS0"},
		{in: "amd64", err: ErrUnknownArch},
		{in: "", err: ErrUnknownArch},
		{in: "X86_64", err: ErrUnknownArch},
	} {
		got, err := ParseArch(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseArch(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if got.Binary() != tt.binary || got.Machine() != tt.machine || got.CPU() != tt.cpu || got.Console() != tt.console {
			t.Errorf("%s: table = %s %s %s %s, want %s %s %s %s", got, got.Binary(), got.Machine(), got.CPU(), got.Console(),
				tt.binary, tt.machine, tt.cpu, tt.console)
		}
	}
	if got := Arches(); !slices.Equal(got, []Arch{X86_64, AArch64, RISCV64}) {
		t.Errorf("Arches() = %q", got)
	}
}

func TestIDAllocator(t *testing.T) {
	var a IDAllocator // the zero value works
	for _, tt := range []struct{ class, want string }{
		{"drive", "drive0"},
		{"drive", "drive1"},
		{"chr", "chr0"},
		{"drive1", "drive2"},
		{"fs", "fs0"},
		{"chr", "chr1"},
		{"9p", "9p0"},
	} {
		if got := a.ID(tt.class); got != tt.want {
			t.Errorf("ID(%q) = %q, want %q", tt.class, got, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"qemu-system-x86_64", "-m", "2048M"}, "qemu-system-x86_64 -m 2048M"},
		{[]string{"-append", "console=ttyS0 panic=-1 quiet no_timer_check"}, "-append 'console=ttyS0 panic=-1 quiet no_timer_check'"},
		{[]string{"-drive", "file=/a,,b.img,if=none"}, "-drive file=/a,,b.img,if=none"},
		{[]string{"it's", ""}, `'it'\''s' ''`},
		{[]string{"$HOME", "a*"}, "'$HOME' 'a*'"},
	} {
		if got := Quote(tt.argv); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}
