package run

import (
	"strings"
	"testing"
)

// TestStreamMethods boots a guest per stream method that receives the synthetic tree (seed
// exclusions, owner 1001:1001) as tar and reads it back: the guest's digest must be the
// host's, every entry owned by 1001:1001, and the host tree untouched.
func TestStreamMethods(t *testing.T) {
	needGuest(t)
	for _, tc := range []struct{ name, method string }{
		{"serial-tar", "serial-tar: {}"},
		{"ssh-tar chacha20", "ssh-tar: {cipher: chacha20-poly1305@openssh.com}"},
		{"ssh-tar aes128-gcm", "ssh-tar: {cipher: aes128-gcm@openssh.com}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, host := runOnMappedTree(t, tc.method)
			if res.Phases["transfer"] <= 0 || res.Phases["mount"] <= 0 {
				t.Errorf("phases %v", res.Phases)
			}
			if !strings.Contains(host, " tar bytes (") {
				t.Errorf("host.log does not report the transfer:\n%s", host)
			}
			t.Logf("phases %v; %s", res.Phases, lastLine(host, "tar bytes"))
		})
	}
}

func lastLine(s, with string) string {
	out := ""
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, with) {
			out = l
		}
	}
	return out
}
