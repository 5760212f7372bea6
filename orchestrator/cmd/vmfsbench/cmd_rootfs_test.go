package main

import (
	"strings"
	"testing"
)

// TestRootfsUsage checks the rootfs command's argument errors; none of them builds anything.
func TestRootfsUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		out  string
	}{
		{"no subcommand", []string{"rootfs"}, "usage: vmfsbench rootfs build"},
		{"unknown subcommand", []string{"rootfs", "make"}, "usage: vmfsbench rootfs build"},
		{"extra argument", []string{"rootfs", "build", "now"}, "usage: vmfsbench rootfs build"},
		{"bad arch", []string{"rootfs", "build", "--arch", "riscv64", "--suite", "bookworm"}, `Debian bookworm has no "riscv64"`},
		{"bad package", []string{"rootfs", "build", "--packages", "python3,--evil"}, `bad suite or package name "--evil"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != 2 || !strings.Contains(out+errs, tc.out) {
				t.Errorf("exit %d, want 2 and %q; output:\n%s%s", code, tc.out, out, errs)
			}
		})
	}
}
