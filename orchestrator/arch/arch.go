// Package arch is vmfsbench's one table of guest architectures: for each, the name specs use,
// the Go and Debian names, the QEMU system emulator and its Debian package, the machine, CPU
// and console a guest gets by default, and what Debian ships for it. Every other package asks
// this table instead of keeping its own map.
package arch

import (
	"errors"
	"fmt"
	"strings"
)

// Arch is what vmfsbench knows about one guest architecture.
type Arch struct {
	// Name is the architecture as specs, the CLI and QEMU name it: x86_64, aarch64, riscv64.
	Name string
	// GOARCH is Go's name, for building the guest agent: amd64, arm64, riscv64.
	GOARCH string
	// Debian is Debian's architecture name (dpkg --print-architecture): amd64, arm64, riscv64.
	// Debian's kernel flavour and the linux-image-<Debian> metapackage carry it too.
	Debian string
	// QEMUBinary is QEMU's system emulator for it, e.g. qemu-system-x86_64.
	QEMUBinary string
	// QEMUPackage is the Debian package that installs QEMUBinary.
	QEMUPackage string
	// Machine is the default -machine value.
	Machine string
	// CPU is the default -cpu value.
	CPU string
	// Console is the kernel's name of the first serial port, for console=.
	Console string
	// KernelArgs are added to the guest kernel's command line on this architecture.
	KernelArgs []string
	// EarlyCon is the kernel's earlycon= value for the default machine's first UART, or "".
	// With it, and the full log level, the kernel prints its boot from its first instant, so
	// a console that stops while the agent has not spoken is a boot that hung, told in a
	// minute rather than at the boot timeout.
	EarlyCon string
	// UserEmulator is the qemu-user emulator (and its binfmt_misc handler's name) that runs
	// the arch's programs on another host, e.g. for debootstrap's package scripts.
	UserEmulator string
	// Debian12 reports whether Debian 12 (bookworm) is released for the arch: whether
	// `vmfsbench kernel fetch` can fetch its standard kernel and `vmfsbench rootfs build`
	// can debootstrap a root. Without it a spec must give guest.kernel and guest.modules.
	Debian12 bool
	// KernelSuite is the Debian suite `vmfsbench kernel fetch` takes the arch's kernel from
	// when Debian 12 has none: riscv64's comes from Debian 13 (trixie). "" means the host's.
	KernelSuite string
}

// Default is the architecture a spec or a command gets when it names none.
const Default = "x86_64"

// ErrUnknown is returned (wrapped) by Lookup for a name that is not in the table.
var ErrUnknown = errors.New("unknown guest architecture")

// table is every supported architecture, in the order All returns them.
//
// x86_64 uses q35: measured here (QEMU 7.2, TCG, -smp 2, Debian 6.1 kernel, static Go /init
// that powers off), q35 and pc both take about 5.2 s from exec to exit (mean of 5 alternating
// runs: pc 5.19 s, q35 5.22 s, within noise), so boot speed does not decide; q35 does, because
// it has no legacy PIIX IDE/floppy to probe and puts virtio devices on PCI Express like the
// aarch64 and riscv64 virt machines.
//
// aarch64 asks virt for gic-version=max: the default GICv2 caps the guest at 8 CPUs ("exceeds
// max CPUs supported by machine 'mach-virt' (8)" with -smp 16 here), while max gives GICv3
// under TCG and the host's GIC under KVM. riscv64 virt takes -smp 32 as it is.
//
// riscv64 became a Debian release architecture only with Debian 13, so Debian 12 has neither
// a kernel nor a root for it.
var table = []Arch{
	{
		Name: "x86_64", GOARCH: "amd64", Debian: "amd64",
		QEMUBinary: "qemu-system-x86_64", QEMUPackage: "qemu-system-x86",
		Machine: "q35", CPU: "max", Console: "ttyS0",
		// An emulated CPU on a loaded host can miss the IO-APIC timer check's deadline, and
		// the kernel then panics at boot ("IO-APIC + timer doesn't work"): skip the check.
		KernelArgs:   []string{"no_timer_check"},
		UserEmulator: "qemu-x86_64", Debian12: true,
	},
	{
		Name: "aarch64", GOARCH: "arm64", Debian: "arm64",
		QEMUBinary: "qemu-system-aarch64", QEMUPackage: "qemu-system-arm",
		Machine: "virt,gic-version=max", CPU: "max", Console: "ttyAMA0",
		UserEmulator: "qemu-aarch64", Debian12: true,
	},
	{
		Name: "riscv64", GOARCH: "riscv64", Debian: "riscv64",
		QEMUBinary: "qemu-system-riscv64", QEMUPackage: "qemu-system-misc",
		Machine: "virt", CPU: "rv64", Console: "ttyS0",
		// Now and then (1 boot in 12 on a host loaded 30 deep, QEMU 7.2, kernel 6.12) the
		// guest hangs as it brings up its second hart, before ttyS0 exists; in the hung boot
		// caught (registers through QEMU's monitor) the boot hart looped on a store page fault
		// on its vmalloc'd stack in a kernel thread, the other trapped at a physical PC in
		// head.S with its MMU on. earlycon=sbi prints nothing on OpenSBI 1.1 ("Malformed early
		// option"); the UART itself does.
		EarlyCon:     "uart8250,mmio,0x10000000",
		UserEmulator: "qemu-riscv64", Debian12: false, KernelSuite: "trixie",
	},
}

// All returns every supported architecture in a fixed order: x86_64, aarch64, riscv64.
func All() []Arch { return append([]Arch(nil), table...) }

// Names returns the names of All, in the same order.
func Names() []string {
	names := make([]string, len(table))
	for i, a := range table {
		names[i] = a.Name
	}
	return names
}

// Lookup returns the architecture named name (exactly as Names spells it). For any other name
// the error wraps ErrUnknown and lists the names there are.
func Lookup(name string) (Arch, error) {
	for _, a := range table {
		if a.Name == name {
			return a, nil
		}
	}
	return Arch{}, fmt.Errorf("%w %q (want %s)", ErrUnknown, name, list(Names()))
}

// Debian12Names returns the names of the architectures Debian 12 is released for.
func Debian12Names() []string {
	var names []string
	for _, a := range table {
		if a.Debian12 {
			names = append(names, a.Name)
		}
	}
	return names
}

// list joins names as prose: "a", "a or b", "a, b or c".
func list(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
