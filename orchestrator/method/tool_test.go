package method

import "testing"

func TestPickVersion(t *testing.T) {
	for in, want := range map[string]string{
		"QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022": "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)",
		"<E> erofs: missing argument: FILE\nmkfs.erofs 1.5\n":                                     "mkfs.erofs 1.5",
		"usage: [options] FILE DIRECTORY\n":                                                       "unknown: usage: [options] FILE DIRECTORY",
		"":                                                                                        "unknown",
	} {
		if got := pickVersion(in); got != want {
			t.Errorf("pickVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
