// Package qemu builds QEMU command lines for vmfsbench guests from functional
// options, starts QEMU in its own process group, listens for the guest's
// control channel and chooses between KVM and TCG.
//
// A command line is data: Build evaluates a list of Fn options and returns
// the argv, binary first, so tests compare argv slices and never need QEMU.
package qemu

import (
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"slices"
)

// Arch is a guest architecture, named as QEMU names its system emulators. Its facts (binary,
// machine, CPU, console) come from the architecture table, package arch.
type Arch string

// The supported guest architectures.
const (
	X86_64  Arch = "x86_64"
	AArch64 Arch = "aarch64"
	RISCV64 Arch = "riscv64"
)

// ErrUnknownArch is returned for an architecture that is not in the table.
var ErrUnknownArch = arch.ErrUnknown

// Arches lists the supported architectures in a fixed order.
func Arches() []Arch {
	var as []Arch
	for _, a := range arch.All() {
		as = append(as, Arch(a.Name))
	}
	return as
}

// ParseArch returns the Arch named s: x86_64, aarch64 or riscv64.
func ParseArch(s string) (Arch, error) {
	a, err := arch.Lookup(s)
	if err != nil {
		return "", err
	}
	return Arch(a.Name), nil
}

// info returns a's row of the architecture table, or the zero row when a is not in it.
func (a Arch) info() arch.Arch {
	i, _ := arch.Lookup(string(a))
	return i
}

// Valid reports whether a is in the architecture table.
func (a Arch) Valid() bool {
	_, err := arch.Lookup(string(a))
	return err == nil
}

// Binary returns the name of a's QEMU system emulator, e.g. qemu-system-x86_64.
func (a Arch) Binary() string { return a.info().QEMUBinary }

// Machine returns a's default -machine value.
func (a Arch) Machine() string { return a.info().Machine }

// CPU returns a's default -cpu value.
func (a Arch) CPU() string { return a.info().CPU }

// Console returns the kernel's name for a's first serial port, for console=.
func (a Arch) Console() string { return a.info().Console }

// KernelArgs are the kernel command line arguments a's guests on machine always get: the
// table's, and on the default machine of an arch with an early console, earlycon and the full
// log level (after quiet, which it overrides), so that the console shows the boot as it goes
// (arch.Arch.EarlyCon; another machine's UART may be elsewhere).
func (a Arch) KernelArgs(machine string) []string {
	i := a.info()
	args := slices.Clone(i.KernelArgs)
	if i.EarlyCon != "" && machine == i.Machine {
		args = append(args, "earlycon="+i.EarlyCon, "loglevel=7")
	}
	return args
}

// hasPmem says whether a's default machine has virtio-pmem-pci: riscv64's virt has none
// (QEMU 7.2 and 10.0).
func (a Arch) hasPmem() bool { return a != RISCV64 }
