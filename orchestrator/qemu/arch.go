// Package qemu builds QEMU command lines for vmfsbench guests from functional
// options, starts QEMU in its own process group, listens for the guest's
// control channel and chooses between KVM and TCG.
//
// A command line is data: Build evaluates a list of Fn options and returns
// the argv, binary first, so tests compare argv slices and never need QEMU.
package qemu

import (
	"errors"
	"fmt"
)

// Arch is a guest architecture, named as QEMU names its system emulators.
type Arch string

// The supported guest architectures.
const (
	X86_64  Arch = "x86_64"
	AArch64 Arch = "aarch64"
	RISCV64 Arch = "riscv64"
)

// ErrUnknownArch is returned for an architecture that is not in the table.
var ErrUnknownArch = errors.New("unknown guest architecture")

// archInfo is what Build needs to know about an architecture.
type archInfo struct {
	binary  string
	machine string
	cpu     string
	console string
}

// arches is the per-architecture table.
//
// x86_64 uses q35: measured here (QEMU 7.2, TCG, -smp 2, Debian 6.1 kernel,
// static Go /init that powers off), q35 and pc both take about 5.2 s from
// exec to exit (mean of 5 alternating runs: pc 5.19 s, q35 5.22 s, within
// noise), so boot speed does not decide; q35 does, because it has no legacy
// PIIX IDE/floppy to probe and puts virtio devices on PCI Express like the
// aarch64 and riscv64 virt machines.
//
// aarch64 asks virt for gic-version=max: the default GICv2 caps the guest at
// 8 CPUs ("exceeds max CPUs supported by machine 'mach-virt' (8)" with
// -smp 16 here), while max gives GICv3 under TCG and the host's GIC under
// KVM. riscv64 virt takes -smp 32 as it is.
var arches = map[Arch]archInfo{
	X86_64:  {binary: "qemu-system-x86_64", machine: "q35", cpu: "max", console: "ttyS0"},
	AArch64: {binary: "qemu-system-aarch64", machine: "virt,gic-version=max", cpu: "max", console: "ttyAMA0"},
	RISCV64: {binary: "qemu-system-riscv64", machine: "virt", cpu: "rv64", console: "ttyS0"},
}

// Arches lists the supported architectures in a fixed order.
func Arches() []Arch { return []Arch{X86_64, AArch64, RISCV64} }

// ParseArch returns the Arch named s: x86_64, aarch64 or riscv64.
func ParseArch(s string) (Arch, error) {
	if a := Arch(s); a.Valid() {
		return a, nil
	}
	return "", fmt.Errorf("%w %q (want x86_64, aarch64 or riscv64)", ErrUnknownArch, s)
}

// Valid reports whether a is in the architecture table.
func (a Arch) Valid() bool {
	_, ok := arches[a]
	return ok
}

// Binary returns the name of a's QEMU system emulator, e.g. qemu-system-x86_64.
func (a Arch) Binary() string { return arches[a].binary }

// Machine returns a's default -machine value.
func (a Arch) Machine() string { return arches[a].machine }

// CPU returns a's default -cpu value.
func (a Arch) CPU() string { return arches[a].cpu }

// Console returns the kernel's name for a's first serial port, for console=.
func (a Arch) Console() string { return arches[a].console }
