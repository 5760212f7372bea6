package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Limits QEMU and the kernel put on names, checked here so a bad spec fails
// before QEMU starts.
const (
	maxSocketPath  = 107 // sun_path is 108 bytes including the NUL
	max9PTag       = 31  // QEMU: "mount tag ... is longer than maximum (31 bytes)"
	maxVirtioFSTag = 36  // virtio-fs config space: tag[36]
	maxQueueSize   = 1024
)

// securityModels are the values -fsdev local accepts for security_model.
var securityModels = []string{"none", "mapped-xattr", "mapped-file", "passthrough"}

// BlockDevice attaches the raw image at path as a virtio-blk disk with QEMU's defaults
// (BlockDeviceWith and a zero Block):
//
//	-drive file=PATH,if=none,id=driveN,format=raw[,readonly=on][,snapshot=on]
//	-device virtio-blk-pci,drive=driveN
//
// readonly makes the disk read-only to the guest; snapshot sends guest
// writes to a temporary overlay so the image is never changed. The image
// must exist; the path is made absolute (QEMU would read a relative
// "a:b.img" as protocol "a").
func BlockDevice(path string, readonly, snapshot bool) Fn {
	return BlockDeviceWith(path, readonly, snapshot, Block{})
}

// Block is how a virtio-blk disk reaches its image: the host's I/O path and the guest's
// transport. The zero value is QEMU's default: thread-pool AIO through the host page cache,
// no iothread, QEMU's number of queues, on PCI.
type Block struct {
	AIO      string // threads (QEMU's default, also ""), native (Linux AIO) or io_uring
	Direct   bool   // cache.direct=on: the image is opened with O_DIRECT, past the host page cache
	IOThread bool   // the disk's requests run in an iothread of their own, off QEMU's main loop
	Queues   int    // num-queues; 0 leaves QEMU's default (one per vCPU on PCI since QEMU 5.2)
	Bus      string // pci (also "") or mmio: virtio-blk-device on the machine's virtio-mmio bus
}

// Block I/O modes and buses, as QEMU names them.
const (
	AIOThreads = "threads"
	AIONative  = "native"
	AIOIOURing = "io_uring"
	BusPCI     = "pci"
	BusMMIO    = "mmio"
)

// AIOModes are the values of Block.AIO.
var AIOModes = []string{AIOThreads, AIONative, AIOIOURing}

// Buses are the values of Block.Bus.
var Buses = []string{BusPCI, BusMMIO}

// maxBlockQueues is virtio-blk's limit on num-queues in QEMU (VIRTIO_QUEUE_MAX).
const maxBlockQueues = 1024

// host says whether b asks for anything of the block layer beyond -drive's defaults.
func (b Block) host() bool {
	return b.AIO != "" && b.AIO != AIOThreads || b.Direct || b.IOThread || b.Queues != 0
}

// device is the -device driver of b's transport.
func (b Block) device() string {
	if b.Bus == BusMMIO {
		return "virtio-blk-device"
	}
	return "virtio-blk-pci"
}

func (b Block) check() error {
	if b.AIO != "" && !slices.Contains(AIOModes, b.AIO) {
		return fmt.Errorf("%w: aio %q (want one of %s)", ErrBadBlock, b.AIO, strings.Join(AIOModes, ", "))
	}
	if b.AIO == AIONative && !b.Direct {
		return fmt.Errorf("%w: aio=native needs cache.direct=on (QEMU's Linux AIO submits O_DIRECT requests only)", ErrBadBlock)
	}
	if b.Bus != "" && !slices.Contains(Buses, b.Bus) {
		return fmt.Errorf("%w: bus %q (want one of %s)", ErrBadBlock, b.Bus, strings.Join(Buses, ", "))
	}
	if b.Queues < 0 || b.Queues > maxBlockQueues {
		return fmt.Errorf("%w: %d queues (want 1 to %d, or 0 for QEMU's default)", ErrBadBlock, b.Queues, maxBlockQueues)
	}
	return nil
}

// BlockDeviceWith attaches the raw image at path as a virtio-blk disk the way b says. A b
// that leaves the host's I/O path at QEMU's defaults keeps BlockDevice's -drive (the same
// block graph: a file node with thread-pool AIO through the page cache under a raw node), so
// the command lines of existing specs do not change; anything else is written in QEMU's
// documented -blockdev form, a file node under a raw node:
//
//	-blockdev driver=file,node-name=fileN,filename=PATH[,aio=AIO][,cache.direct=on][,read-only=on]
//	-blockdev driver=raw,node-name=driveN,file=fileN[,read-only=on]
//	[-object iothread,id=ioN]
//	-device virtio-blk-pci|virtio-blk-device,drive=driveN[,iothread=ioN][,num-queues=Q]
//
// -blockdev has no snapshot (QEMU makes -drive's snapshot=on a temporary qcow2 overlay of
// its own), so a snapshot disk keeps -drive and takes aio and cache.direct there:
//
//	-drive file=PATH,if=none,id=driveN,format=raw,snapshot=on[,aio=AIO][,cache.direct=on]
//
// With b.Direct the image
// is opened with O_DIRECT here first, so a file system without it (tmpfs before Linux 6.6)
// fails before QEMU starts. virtio-blk-device needs a machine with a virtio-mmio bus (the
// virt machines of aarch64 and riscv64), checked when the argv is built.
func BlockDeviceWith(path string, readonly, snapshot bool, b Block) Fn {
	return func(alloc *IDAllocator, o *Options) error {
		abs, err := o.regularFile("disk image", path, ErrBadPath)
		if err != nil {
			return err
		}
		if err := b.check(); err != nil {
			return err
		}
		if b.Bus == BusMMIO {
			o.mmioDisks++
		}
		if b.Direct && !o.unchecked {
			if err := directIO(abs); err != nil {
				return err
			}
		}
		var id string
		if !b.host() || snapshot {
			id = alloc.ID("drive")
			drive := "file=" + escape(abs) + ",if=none,id=" + id + ",format=raw"
			if readonly {
				drive += ",readonly=on"
			}
			if snapshot {
				drive += ",snapshot=on"
			}
			o.AppendDevice("-drive", drive+b.fileOptions())
		} else {
			file := alloc.ID("file")
			id = alloc.ID("drive")
			ro := ""
			if readonly {
				ro = ",read-only=on"
			}
			o.AppendDevice("-blockdev", "driver=file,node-name="+file+",filename="+escape(abs)+b.fileOptions()+ro,
				"-blockdev", "driver=raw,node-name="+id+",file="+file+ro)
		}
		dev := b.device() + ",drive=" + id
		if b.IOThread {
			io := alloc.ID("io")
			o.AppendDevice("-object", "iothread,id="+io)
			dev += ",iothread=" + io
		}
		if b.Queues != 0 {
			dev += ",num-queues=" + strconv.Itoa(b.Queues)
		}
		o.AppendDevice("-device", dev)
		return nil
	}
}

// fileOptions are b's options of the image's file node, each with a leading comma.
func (b Block) fileOptions() string {
	s := ""
	if b.AIO != "" && b.AIO != AIOThreads {
		s += ",aio=" + b.AIO
	}
	if b.Direct {
		s += ",cache.direct=on"
	}
	return s
}

// directIO checks that the file at path can be opened with O_DIRECT, as QEMU opens it for
// cache.direct=on.
func directIO(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("%w: cache.direct=on opens %s with O_DIRECT, which its file system refuses: %w (put the run directory on a disk file system)", ErrBadBlock, path, err)
	}
	return f.Close()
}

// hasMMIO says whether machine has virtio-mmio transports for virtio-blk-device: the virt
// machines of aarch64 and riscv64 do; x86_64's q35 and pc do not.
func hasMMIO(a Arch, machine string) bool {
	name, _, _ := strings.Cut(machine, ",")
	return a != X86_64 && name == "virt"
}

// PmemAlign is what a virtio-pmem device's size must be a multiple of: QEMU maps the file
// into the guest's device memory, in whole huge pages.
const PmemAlign = 2 << 20

// PmemDevice maps the file at path into the guest as persistent memory of size bytes (a
// multiple of PmemAlign; the file must be at least that long):
//
//	-m RAM,slots=2,maxmem=RAM+SIZES
//	-object memory-backend-file,id=pmN,share=on|off,mem-path=PATH,size=SIZE[,readonly=on]
//	-device virtio-pmem-pci,memdev=pmN
//
// The guest sees /dev/pmem0, /dev/pmem1, ... in the order of the devices. share=on maps the
// file shared: the guest reads the host's page cache directly; with readonly the guest
// cannot write it. share=off maps it privately: what the guest writes lands in copies of the
// pages in QEMU's memory and never reaches the file (QEMU 7.2 takes readonly=on only as
// memory the guest cannot write, so a private mapping is not read-only).
func PmemDevice(path string, size int64, share, readonly bool) Fn {
	return func(alloc *IDAllocator, o *Options) error {
		abs, err := o.regularFile("pmem image", path, ErrBadPath)
		if err != nil {
			return err
		}
		if size <= 0 || size%PmemAlign != 0 {
			return fmt.Errorf("%w: size %d is not a positive multiple of %d", ErrBadPmem, size, PmemAlign)
		}
		if !o.unchecked {
			fi, err := os.Stat(abs)
			if err != nil {
				return fmt.Errorf("%w: pmem image: %w", ErrBadPath, err)
			}
			if fi.Size() < size {
				return fmt.Errorf("%w: pmem image %s holds %d bytes, the device %d", ErrBadPmem, abs, fi.Size(), size)
			}
		}
		id := alloc.ID("pm")
		obj := "memory-backend-file,id=" + id + ",share=" + onOff(share) + ",mem-path=" + escape(abs) + ",size=" + strconv.FormatInt(size, 10)
		if readonly {
			obj += ",readonly=on"
		}
		o.AppendDevice("-object", obj, "-device", "virtio-pmem-pci,memdev="+id)
		o.pmemBytes += size
		o.pmemSlots++
		return nil
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// VirtFS shares the host directory path with the guest over 9p under tag:
//
//	-fsdev local,id=fsN,path=PATH,security_model=MODEL[,readonly=on]
//	-device virtio-9p-pci,fsdev=fsN,mount_tag=TAG
//
// This spelling is used rather than -virtfs because -virtfs names the fsdev
// after the tag, outside the IDAllocator. securityModel is one of none,
// mapped-xattr, mapped-file, passthrough; the tag is at most 31 bytes.
func VirtFS(path, tag, securityModel string, readonly bool) Fn {
	return func(alloc *IDAllocator, o *Options) error {
		abs, err := o.directory("9p share", path)
		if err != nil {
			return err
		}
		if err := o.claimTag(tag, max9PTag); err != nil {
			return err
		}
		if !slices.Contains(securityModels, securityModel) {
			return fmt.Errorf("%w %q (want one of %s)", ErrBadSecurityModel, securityModel, strings.Join(securityModels, ", "))
		}
		id := alloc.ID("fs")
		fsdev := "local,id=" + id + ",path=" + escape(abs) + ",security_model=" + securityModel
		if readonly {
			fsdev += ",readonly=on"
		}
		o.AppendDevice("-fsdev", fsdev, "-device", "virtio-9p-pci,fsdev="+id+",mount_tag="+tag)
		return nil
	}
}

// VhostUserFS attaches a virtiofs device served by a vhost-user daemon
// (virtiofsd) listening on socket, under tag:
//
//	-chardev socket,id=chrN,path=SOCK
//	-device vhost-user-fs-pci,queue-size=Q,chardev=chrN,tag=TAG
//
// and makes Build back guest RAM with a shared memfd of the size of -m,
// without which the daemon cannot map the virtqueues. The socket need not
// exist yet (the daemon is started later); queueSize 0 leaves QEMU's default,
// otherwise it is a power of two up to 1024; the tag is at most 36 bytes.
func VhostUserFS(socket, tag string, queueSize int) Fn {
	return func(alloc *IDAllocator, o *Options) error {
		if err := checkSocket(socket); err != nil {
			return err
		}
		if err := o.claimTag(tag, maxVirtioFSTag); err != nil {
			return err
		}
		if queueSize < 0 || queueSize > maxQueueSize || queueSize&(queueSize-1) != 0 {
			return fmt.Errorf("%w: %d (want 0 or a power of two up to %d)", ErrBadQueueSize, queueSize, maxQueueSize)
		}
		id := alloc.ID("chr")
		dev := "vhost-user-fs-pci,"
		if queueSize != 0 {
			dev += "queue-size=" + strconv.Itoa(queueSize) + ","
		}
		dev += "chardev=" + id + ",tag=" + tag
		o.AppendDevice("-chardev", "socket,id="+id+",path="+escape(socket), "-device", dev)
		return WithSharedMemory()(alloc, o)
	}
}

// VirtioSerialPort adds a virtio-serial port named name whose host side is
// the unix socket socketPath, which the host must be listening on (see
// Listen) when QEMU starts: QEMU connects to it as a client.
//
//	-device virtio-serial-pci            (once, before the first port)
//	-chardev socket,id=chrN,path=SOCK
//	-device virtserialport,chardev=chrN,name=NAME
//
// The guest finds the port through /sys/class/virtio-ports/*/name.
func VirtioSerialPort(name, socketPath string) Fn {
	return serialPort(name, socketPath, "")
}

// VirtioSerialServerPort adds a virtio-serial port named name whose host
// side is a unix socket QEMU itself listens on at socketPath, without
// waiting: the host connects whenever it is ready, after QEMU started.
//
//	-device virtio-serial-pci            (once, before the first port)
//	-chardev socket,id=chrN,path=SOCK,server=on,wait=off
//	-device virtserialport,chardev=chrN,name=NAME
//
// Until the host connects, the guest sees the port's host side closed: a
// read returns end-of-file at once. QEMU reads from the connection only
// while the guest has the port open, so what the host sends before that
// waits in the socket, and a host that closes the connection hands the
// guest an end-of-file after the data.
func VirtioSerialServerPort(name, socketPath string) Fn {
	return serialPort(name, socketPath, ",server=on,wait=off")
}

func serialPort(name, socketPath, mode string) Fn {
	return func(alloc *IDAllocator, o *Options) error {
		if name == "" || strings.ContainsAny(name, ", \t\n") {
			return fmt.Errorf("%w %q: empty or contains a comma or space", ErrBadName, name)
		}
		if o.portNames[name] {
			return fmt.Errorf("%w %q: used twice", ErrBadName, name)
		}
		if err := checkSocket(socketPath); err != nil {
			return err
		}
		if o.portNames == nil {
			o.portNames = make(map[string]bool)
		}
		o.portNames[name] = true
		if !o.serialBus {
			o.AppendDevice("-device", "virtio-serial-pci")
			o.serialBus = true
		}
		id := alloc.ID("chr")
		o.AppendDevice(
			"-chardev", "socket,id="+id+",path="+escape(socketPath)+mode,
			"-device", "virtserialport,chardev="+id+",name="+name)
		return nil
	}
}

// UserNet adds a virtio-net NIC on QEMU's user-mode (slirp) network that
// forwards TCP port hostPort on the host's loopback only to guestPort in
// the guest:
//
//	-netdev user,id=netN,hostfwd=tcp:127.0.0.1:HOST-:GUEST
//	-device virtio-net-pci,netdev=netN,romfile=
//
// The empty romfile drops the PXE option ROM: the guest boots with -kernel
// and never uses it, and without it QEMU does not need ipxe-qemu's
// efi-virtio.rom (missing from some installs). The guest must configure its
// interface itself (10.0.2.15/24, gateway 10.0.2.2).
func UserNet(hostPort, guestPort int) Fn {
	return func(alloc *IDAllocator, o *Options) error {
		for _, p := range []int{hostPort, guestPort} {
			if p < 1 || p > 65535 {
				return fmt.Errorf("%w: %d", ErrBadPort, p)
			}
		}
		id := alloc.ID("net")
		o.AppendDevice(
			"-netdev", fmt.Sprintf("user,id=%s,hostfwd=tcp:127.0.0.1:%d-:%d", id, hostPort, guestPort),
			"-device", "virtio-net-pci,netdev="+id+",romfile=")
		return nil
	}
}

// claimTag checks a file-system tag and records it, so two shares cannot
// use the same one.
func (o *Options) claimTag(tag string, limit int) error {
	switch {
	case tag == "":
		return fmt.Errorf("%w: empty tag", ErrBadTag)
	case strings.ContainsAny(tag, ", \t\n"):
		return fmt.Errorf("%w %q: contains a comma or space", ErrBadTag, tag)
	case len(tag) > limit:
		return fmt.Errorf("%w %q: %d bytes, the device allows %d", ErrBadTag, tag, len(tag), limit)
	case o.tags[tag]:
		return fmt.Errorf("%w %q: used twice", ErrBadTag, tag)
	}
	if o.tags == nil {
		o.tags = make(map[string]bool)
	}
	o.tags[tag] = true
	return nil
}

// directory returns the absolute form of path after checking it is an
// existing directory.
func (o *Options) directory(what, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: empty %s path", ErrBadPath, what)
	}
	if o.unchecked { // a plan's path may be a placeholder such as $RUN/...
		return path, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %w", ErrBadPath, what, path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBadPath, what, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%w: %s %s is not a directory", ErrBadPath, what, abs)
	}
	return abs, nil
}

// checkSocket checks a unix socket path QEMU will connect to. It need not
// exist yet, but it must fit in sun_path.
func checkSocket(path string) error {
	if path == "" {
		return fmt.Errorf("%w: empty socket path", ErrBadPath)
	}
	if len(path) > maxSocketPath {
		return fmt.Errorf("%w: socket path %s is %d bytes, unix sockets allow %d", ErrBadPath, path, len(path), maxSocketPath)
	}
	return nil
}
