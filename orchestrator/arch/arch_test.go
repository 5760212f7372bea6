package arch

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		name                          string
		goarch, debian, binary, pkg   string
		machine, cpu, console, binfmt string
		debian12                      bool
	}{
		{"x86_64", "amd64", "amd64", "qemu-system-x86_64", "qemu-system-x86", "q35", "max", "ttyS0", "qemu-x86_64", true},
		{"aarch64", "arm64", "arm64", "qemu-system-aarch64", "qemu-system-arm", "virt,gic-version=max", "max", "ttyAMA0", "qemu-aarch64", true},
		{"riscv64", "riscv64", "riscv64", "qemu-system-riscv64", "qemu-system-misc", "virt", "rv64", "ttyS0", "qemu-riscv64", false},
	} {
		a, err := Lookup(tt.name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tt.name, err)
		}
		want := Arch{Name: tt.name, GOARCH: tt.goarch, Debian: tt.debian, QEMUBinary: tt.binary, QEMUPackage: tt.pkg,
			Machine: tt.machine, CPU: tt.cpu, Console: tt.console, UserEmulator: tt.binfmt, Debian12: tt.debian12}
		if !tt.debian12 {
			want.KernelSuite = "trixie"
		}
		if tt.name == "riscv64" {
			want.EarlyCon = "uart8250,mmio,0x10000000"
		}
		if tt.name == "x86_64" {
			want.KernelArgs = []string{"no_timer_check"}
		}
		if !reflect.DeepEqual(a, want) {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.name, a, want)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"", "amd64", "X86_64", "mips"} {
		_, err := Lookup(name)
		if !errors.Is(err, ErrUnknown) {
			t.Errorf("Lookup(%q) error = %v, want ErrUnknown", name, err)
		} else if !strings.Contains(err.Error(), "want x86_64, aarch64 or riscv64") {
			t.Errorf("Lookup(%q) error = %q, want the names listed", name, err)
		}
	}
}

func TestOrder(t *testing.T) {
	if got, want := Names(), []string{"x86_64", "aarch64", "riscv64"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	all := All()
	for i, a := range all {
		if a.Name != Names()[i] {
			t.Errorf("All()[%d] = %s, want %s", i, a.Name, Names()[i])
		}
	}
	all[0].Name = "changed"
	if All()[0].Name != "x86_64" {
		t.Error("All returns the table itself: a caller changed it")
	}
	if got := Debian12Names(); !slices.Equal(got, []string{"x86_64", "aarch64"}) {
		t.Errorf("Debian12Names() = %q", got)
	}
	if _, err := Lookup(Default); err != nil {
		t.Errorf("Default %q is not in the table: %v", Default, err)
	}
}
