package method

import (
	"strings"
	"testing"
)

// TestNinePCacheModes: a cache mode the guest kernel does not take is refused with the
// kernel's release; one it takes, or a kernel of unknown release, is planned.
func TestNinePCacheModes(t *testing.T) {
	for _, tc := range []struct{ cache, kernel, refuse string }{
		{"readahead", "6.1.0-57-amd64", "9p cache=readahead needs a guest kernel 6.4 or later (Linux 6.4 added it), and the guest kernel is 6.1.0-57-amd64"},
		{"readahead", "6.12.117+deb13-riscv64", ""},
		{"readahead", "", ""},
		{"loose", "6.1.0-57-amd64", ""},
		{"mmap", "6.12.117+deb13-riscv64", ""},
	} {
		c := Config{Tree: "/t", Work: "/w", Mountpoint: "/m", KernelRelease: tc.kernel,
			Params: Params{"msize": int64(512000), "cache": tc.cache, "security_model": "none", "upper": "tmpfs"}}
		p := planOf(NineP{}, c)
		if p.Refused != tc.refuse {
			t.Errorf("cache=%s on %q: refused %q, want %q", tc.cache, tc.kernel, p.Refused, tc.refuse)
		}
		if opts := p.Guest[0].Options; !strings.Contains(opts, "cache="+tc.cache) {
			t.Errorf("mount options %q lack cache=%s", opts, tc.cache)
		}
	}
}
