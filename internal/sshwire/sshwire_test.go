package sshwire

import (
	"testing"
)

func TestParseTarCommand(t *testing.T) {
	for _, tc := range []struct{ cmd, target, err string }{
		{"tar -x -C /root/tree", "/root/tree", ""},
		{"tar -x -C /home/user/llvm-project", "/home/user/llvm-project", ""},
		{"tar -x -C '/root/my tree'", "/root/my tree", ""},
		{"tar -x -C /a,b=c@d", "/a,b=c@d", ""},
		{"tar -x -C relative", "", `target "relative" is not an absolute, clean path below /`},
		{"tar -x -C /", "", `target "/" is not an absolute, clean path below /`},
		{"tar -x -C /a/../b", "", `target "/a/../b" is not an absolute, clean path below /`},
		{"tar -x -C /a/", "", `target "/a/" is not an absolute, clean path below /`},
		{"tar -x -C /a b", "", `character ' ' in the target needs quoting`},
		{"tar -x -C /a;reboot", "", `character ';' in the target needs quoting`},
		{"tar -x -C /a$(id)", "", `character '$' in the target needs quoting`},
		{"tar -x -C '/a'b'", "", "a quote inside the quoted target"},
		{"tar -x -C '/a", "", `character '\'' in the target needs quoting`},
		{"tar -x -C ", "", `target "" is not an absolute, clean path below /`},
		{"tar  -x -C /a", "", `not "tar -x -C TARGET"`},
		{"tar -xC /a", "", `not "tar -x -C TARGET"`},
		{"tar -x -f - -C /a", "", `not "tar -x -C TARGET"`},
		{"sh -c 'tar -x -C /a'", "", `not "tar -x -C TARGET"`},
		{"", "", `not "tar -x -C TARGET"`},
	} {
		got, err := ParseTarCommand(tc.cmd)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tc.target || msg != tc.err {
			t.Errorf("ParseTarCommand(%q) = %q, %q; want %q, %q", tc.cmd, got, msg, tc.target, tc.err)
		}
		if tc.err == "" {
			if back, err := ParseTarCommand(TarCommand(got)); back != got || err != nil {
				t.Errorf("TarCommand(%q) = %q parses as %q, %v", got, TarCommand(got), back, err)
			}
		}
	}
}
