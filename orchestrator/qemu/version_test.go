package qemu

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tt := range []struct {
		out  string
		want string
		err  error
	}{
		{out: "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n",
			want: "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"},
		{out: "QEMU emulator version 9.1.0\nCopyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers\n", want: "9.1.0"},
		{out: "QEMU emulator version 8.2\n", want: "8.2"},
		{out: "", err: ErrBadVersion},
		{out: "qemu-img version 7.2.22\n", err: ErrBadVersion},
		{out: "Copyright\nQEMU emulator version 7.2.22\n", err: ErrBadVersion},
	} {
		got, err := parseVersion(tt.out)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("parseVersion(%q) = %q, %v; want %q, %v", tt.out, got, err, tt.want, tt.err)
		}
	}
}

func TestVersionNotQEMU(t *testing.T) {
	// A program that runs but is not QEMU.
	script := filepath.Join(t.TempDir(), "fake-qemu")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"fake $1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Version(t.Context(), script); !errors.Is(err, ErrBadVersion) {
		t.Errorf("Version(fake) = %v, want ErrBadVersion", err)
	}
	if _, err := Version(t.Context(), filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Version(missing) = %v, want ErrNotExist", err)
	}
}
