package qemu

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Defaults used by Build for what no option set.
const (
	// DefaultArch is the guest architecture when WithArch is not given.
	DefaultArch = X86_64
	// DefaultAccel is the accelerator when WithAccel is not given: TCG
	// works everywhere, KVM only where ChooseAccel proved it does.
	DefaultAccel = "tcg"
	// DefaultCPUs is the number of guest CPUs when WithCPUs is not given.
	DefaultCPUs = 1
	// DefaultMemory is the guest memory in bytes when WithMemory is not given.
	DefaultMemory int64 = 2 << 30
)

const mib = 1 << 20

// Sentinel errors returned (wrapped) by the options and Build; test for them
// with errors.Is.
var (
	// ErrNoBinary means the QEMU binary is empty or not a file.
	ErrNoBinary = errors.New("no usable qemu binary")
	// ErrBadMachine means an empty -machine value.
	ErrBadMachine = errors.New("bad machine")
	// ErrBadCPU means an empty -cpu value.
	ErrBadCPU = errors.New("bad cpu model")
	// ErrBadAccel means an accelerator other than kvm or tcg.
	ErrBadAccel = errors.New("bad accelerator")
	// ErrBadCPUs means a CPU count below 1.
	ErrBadCPUs = errors.New("bad cpu count")
	// ErrBadMemory means a memory size that is not a positive whole number
	// of MiB.
	ErrBadMemory = errors.New("bad memory size")
	// ErrNoKernel means no kernel was given, or the path is not a file.
	ErrNoKernel = errors.New("no kernel")
	// ErrNoInitrd means the initrd path is empty or not a file.
	ErrNoInitrd = errors.New("no initrd")
	// ErrBadKernelArg means an empty kernel command-line argument.
	ErrBadKernelArg = errors.New("bad kernel argument")
	// ErrBadPath means a device's host path is empty, missing, of the wrong
	// type, or (for a unix socket) too long.
	ErrBadPath = errors.New("bad path")
	// ErrBadTag means a file-system tag that is empty, contains a comma,
	// is too long for its device, or is used twice.
	ErrBadTag = errors.New("bad mount tag")
	// ErrBadSecurityModel means a 9p security model QEMU does not know.
	ErrBadSecurityModel = errors.New("bad 9p security model")
	// ErrBadQueueSize means a vhost-user-fs queue size that is not 0 or a
	// power of two up to 1024.
	ErrBadQueueSize = errors.New("bad queue size")
	// ErrBadBlock is returned for a virtio-blk disk's options that QEMU would refuse or the
	// host cannot give.
	ErrBadBlock = errors.New("bad virtio-blk disk")
	// ErrBadPmem means a virtio-pmem device QEMU or the machine cannot take: a size that
	// is not a positive multiple of PmemAlign, or a machine without virtio-pmem.
	ErrBadPmem = errors.New("bad virtio-pmem device")
	// ErrBadName means a virtio-serial port name that is empty, contains a
	// comma or is used twice.
	ErrBadName = errors.New("bad port name")
	// ErrBadPort means a TCP port outside 1..65535.
	ErrBadPort = errors.New("bad tcp port")
)

// Fn is one QEMU option. It checks its inputs, takes device ids from the
// IDAllocator and records what it adds in Options. Build applies Fns in
// order; anything that depends on several options (memory backend, console,
// kernel command line) is resolved by Build afterwards, so the order of Fns
// only decides the order of devices.
type Fn func(*IDAllocator, *Options) error

// IDAllocator hands out QEMU object ids per class: drive0, drive1, fs0...
// so no id is ever typed by hand. Its zero value is ready to use.
type IDAllocator struct {
	next map[string]int
}

// NewIDAllocator returns an empty IDAllocator.
func NewIDAllocator() *IDAllocator { return &IDAllocator{} }

// ID returns the next id of class: class0, class1, ... Trailing digits of
// class are ignored, so ID("drive1") cannot collide with the eleventh drive.
func (a *IDAllocator) ID(class string) string {
	class = strings.TrimRight(class, "0123456789")
	if a.next == nil {
		a.next = make(map[string]int)
	}
	n := a.next[class]
	a.next[class]++
	return class + strconv.Itoa(n)
}

// Options is what the Fns configure and Build turns into argv. Empty fields
// take their defaults (from the architecture table or the Default
// constants) at Build time.
type Options struct {
	Arch       Arch     // guest architecture; DefaultArch if empty
	Binary     string   // QEMU binary; Arch.Binary() if empty
	Machine    string   // -machine; Arch.Machine() if empty
	CPU        string   // -cpu; Arch.CPU() if empty
	Accel      string   // "kvm" or "tcg"; DefaultAccel if empty
	CPUs       int      // -smp; DefaultCPUs if 0
	Memory     int64    // guest RAM in bytes; DefaultMemory if 0
	Kernel     string   // -kernel (required)
	Initrd     string   // -initrd (optional)
	Append     []string // kernel arguments after the built-in ones
	ConsoleLog string   // file receiving the serial console; stdio if empty
	Devices    []string // device argv fragments, in option order
	Args       []string // raw arguments appended last, verbatim

	unchecked    bool            // BuildUnchecked: do not look at the file system
	sharedMemory bool            // guest RAM must be a shared memfd (vhost-user)
	serialBus    bool            // virtio-serial-pci already added
	tags         map[string]bool // file-system tags in use
	portNames    map[string]bool // virtio-serial port names in use
	pmemBytes    int64           // the virtio-pmem devices' memory, beyond -m
	pmemSlots    int             // how many virtio-pmem devices
	mmioDisks    int             // how many virtio-blk disks on the virtio-mmio bus
}

// AppendDevice appends a device argv fragment, for options defined outside
// this package.
func (o *Options) AppendDevice(args ...string) { o.Devices = append(o.Devices, args...) }

// All combines fns into one Fn that applies them in order and stops at the
// first error.
func All(fns ...Fn) Fn {
	return func(a *IDAllocator, o *Options) error {
		for _, fn := range fns {
			if fn == nil {
				continue
			}
			if err := fn(a, o); err != nil {
				return err
			}
		}
		return nil
	}
}

// Build applies fns to empty Options and returns the QEMU argv, binary first.
// The guest gets no default devices, no display, no reboot (a panicking or
// powered-off guest ends QEMU), its first serial port as kernel console
// (written to WithConsoleLog's file, else to QEMU's stdout), and the kernel
// command line "console=<arch console> panic=-1 quiet" plus WithAppend's
// arguments.
func Build(fns ...Fn) ([]string, error) {
	var o Options
	alloc := NewIDAllocator()
	if err := All(fns...)(alloc, &o); err != nil {
		return nil, err
	}
	return o.argv(alloc)
}

// BuildUnchecked is Build without looking at the file system: kernel, initrd, images and
// shares need not exist yet. `vmfsbench plan` uses it to show a cell's command line before the
// run has made its files; everything else is checked as in Build.
func BuildUnchecked(fns ...Fn) ([]string, error) {
	o := Options{unchecked: true}
	alloc := NewIDAllocator()
	if err := All(fns...)(alloc, &o); err != nil {
		return nil, err
	}
	return o.argv(alloc)
}

func (o *Options) argv(alloc *IDAllocator) ([]string, error) {
	arch := o.Arch
	if arch == "" {
		arch = DefaultArch
	}
	if !arch.Valid() {
		return nil, fmt.Errorf("%w %q", ErrUnknownArch, arch)
	}
	binary := cmp.Or(o.Binary, arch.Binary())
	machine := cmp.Or(o.Machine, arch.Machine())
	cpu := cmp.Or(o.CPU, arch.CPU())
	accel := cmp.Or(o.Accel, DefaultAccel)
	if err := checkAccel(accel); err != nil {
		return nil, err
	}
	cpus := o.CPUs
	if cpus == 0 {
		cpus = DefaultCPUs
	}
	if cpus < 0 {
		return nil, fmt.Errorf("%w: %d", ErrBadCPUs, cpus)
	}
	memory := o.Memory
	if memory == 0 {
		memory = DefaultMemory
	}
	if err := checkMemory(memory); err != nil {
		return nil, err
	}
	if o.Kernel == "" {
		return nil, fmt.Errorf("%w: WithKernel is required", ErrNoKernel)
	}
	if o.mmioDisks > 0 && !hasMMIO(arch, machine) {
		return nil, fmt.Errorf("%w: bus mmio: QEMU's %s machine (%s) has no virtio-mmio bus (the virt machine of aarch64 and riscv64 has)", ErrBadBlock, machine, arch)
	}
	mem := strconv.FormatInt(memory/mib, 10) + "M"
	memArg := mem
	if o.pmemSlots > 0 {
		if !arch.hasPmem() {
			return nil, fmt.Errorf("%w: QEMU's %s machine has no virtio-pmem device", ErrBadPmem, machine)
		}
		// Device memory lives beyond -m, in hot-plug slots: maxmem covers RAM and devices.
		memArg += ",slots=" + strconv.Itoa(max(2, o.pmemSlots)) + ",maxmem=" + strconv.FormatInt((memory+o.pmemBytes)/mib, 10) + "M"
	}

	argv := []string{binary,
		"-nodefaults", "-display", "none", "-no-reboot",
		"-machine", machine,
		"-accel", accel,
		"-cpu", cpu,
		"-smp", strconv.Itoa(cpus),
		"-m", memArg,
	}
	if o.sharedMemory {
		// vhost-user back ends map guest RAM, so it must be a shared
		// memfd covering all of -m, attached through a NUMA node.
		id := alloc.ID("mem")
		argv = append(argv,
			"-object", "memory-backend-memfd,id="+id+",size="+mem+",share=on",
			"-numa", "node,memdev="+id)
	}
	if o.ConsoleLog != "" {
		id := alloc.ID("con")
		argv = append(argv,
			"-chardev", "file,id="+id+",path="+escape(o.ConsoleLog),
			"-serial", "chardev:"+id)
	} else {
		argv = append(argv, "-serial", "stdio")
	}
	argv = append(argv, "-kernel", o.Kernel)
	if o.Initrd != "" {
		argv = append(argv, "-initrd", o.Initrd)
	}
	kargs := append(append([]string{"console=" + arch.Console(), "panic=-1", "quiet"}, arch.KernelArgs(machine)...), o.Append...)
	argv = append(argv, "-append", strings.Join(kargs, " "))
	argv = append(argv, o.Devices...)
	argv = append(argv, o.Args...)
	return argv, nil
}

// escape doubles commas, QEMU's escape inside an option value.
func escape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func checkAccel(accel string) error {
	switch accel {
	case "kvm", "tcg":
		return nil
	case "auto":
		return fmt.Errorf("%w %q: resolve auto with ChooseAccel first", ErrBadAccel, accel)
	}
	return fmt.Errorf("%w %q (want kvm or tcg)", ErrBadAccel, accel)
}

func checkMemory(bytes int64) error {
	if bytes <= 0 || bytes%mib != 0 {
		return fmt.Errorf("%w: %d bytes is not a positive whole number of MiB", ErrBadMemory, bytes)
	}
	return nil
}

// regularFile returns the absolute form of path after checking it names an
// existing file that is not a directory; sentinel says what kind of file.
func (o *Options) regularFile(what, path string, sentinel error) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: empty %s path", sentinel, what)
	}
	if o.unchecked { // a plan's path may be a placeholder such as $RUN/...
		return path, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %w", sentinel, what, path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", sentinel, what, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%w: %s %s is a directory", sentinel, what, abs)
	}
	return abs, nil
}

// WithArch sets the guest architecture, which picks the default binary,
// machine, CPU model and console.
func WithArch(arch Arch) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if !arch.Valid() {
			return fmt.Errorf("%w %q", ErrUnknownArch, arch)
		}
		o.Arch = arch
		return nil
	}
}

// WithBinary sets the QEMU binary. A bare name is looked up in PATH when
// QEMU starts; a name with a slash must be an existing file now.
func WithBinary(binary string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if binary == "" {
			return fmt.Errorf("%w: empty binary name", ErrNoBinary)
		}
		if strings.Contains(binary, "/") && !o.unchecked {
			fi, err := os.Stat(binary)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrNoBinary, err)
			}
			if fi.IsDir() {
				return fmt.Errorf("%w: %s is a directory", ErrNoBinary, binary)
			}
		}
		o.Binary = binary
		return nil
	}
}

// WithMachine sets -machine, e.g. "q35" or "virt,gic-version=max".
func WithMachine(machine string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if strings.TrimSpace(machine) == "" {
			return fmt.Errorf("%w: empty machine", ErrBadMachine)
		}
		o.Machine = machine
		return nil
	}
}

// WithCPU sets the -cpu model, e.g. "max" or "host".
func WithCPU(cpu string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if strings.TrimSpace(cpu) == "" {
			return fmt.Errorf("%w: empty cpu model", ErrBadCPU)
		}
		o.CPU = cpu
		return nil
	}
}

// WithAccel sets the accelerator: "kvm" or "tcg". "auto" is not accepted:
// ChooseAccel turns it into one of the two.
func WithAccel(accel string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if err := checkAccel(accel); err != nil {
			return err
		}
		o.Accel = accel
		return nil
	}
}

// WithCPUs sets the number of guest CPUs (-smp), at least 1.
func WithCPUs(n int) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if n < 1 {
			return fmt.Errorf("%w: %d (want at least 1)", ErrBadCPUs, n)
		}
		o.CPUs = n
		return nil
	}
}

// WithMemory sets guest RAM in bytes; it must be a positive whole number of
// MiB because -m and the memfd backend are written in MiB.
func WithMemory(bytes int64) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if err := checkMemory(bytes); err != nil {
			return err
		}
		o.Memory = bytes
		return nil
	}
}

// WithKernel sets the kernel image (-kernel); the file must exist. The path
// is made absolute so the argv can be replayed from any directory.
func WithKernel(path string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		abs, err := o.regularFile("kernel", path, ErrNoKernel)
		if err != nil {
			return err
		}
		o.Kernel = abs
		return nil
	}
}

// WithInitrd sets the initramfs (-initrd); the file must exist.
func WithInitrd(path string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		abs, err := o.regularFile("initrd", path, ErrNoInitrd)
		if err != nil {
			return err
		}
		o.Initrd = abs
		return nil
	}
}

// WithAppend adds kernel command-line arguments after the built-in
// "console=... panic=-1 quiet".
func WithAppend(args ...string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		for _, a := range args {
			if strings.TrimSpace(a) == "" {
				return fmt.Errorf("%w: empty argument in %q", ErrBadKernelArg, args)
			}
		}
		o.Append = append(o.Append, args...)
		return nil
	}
}

// WithArgs appends raw QEMU arguments verbatim, after everything else.
func WithArgs(raw ...string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		o.Args = append(o.Args, raw...)
		return nil
	}
}

// WithConsoleLog sends the guest's serial console to the file at path,
// which QEMU creates or truncates; its directory must exist.
func WithConsoleLog(path string) Fn {
	return func(_ *IDAllocator, o *Options) error {
		if path == "" {
			return fmt.Errorf("%w: empty console log path", ErrBadPath)
		}
		if o.unchecked { // a plan's path may be a placeholder such as $RUN/...
			o.ConsoleLog = path
			return nil
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return fmt.Errorf("%w: console log %s: %w", ErrBadPath, path, err)
		}
		dir := filepath.Dir(abs)
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("%w: console log directory: %w", ErrBadPath, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: console log directory %s is not a directory", ErrBadPath, dir)
		}
		o.ConsoleLog = abs
		return nil
	}
}

// WithSharedMemory backs all guest RAM with a shared memfd
// (-object memory-backend-memfd + -numa node), as every vhost-user device
// needs. VhostUserFS implies it; it is added once however often it is asked.
func WithSharedMemory() Fn {
	return func(_ *IDAllocator, o *Options) error {
		o.sharedMemory = true
		return nil
	}
}
