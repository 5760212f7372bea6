package method

import (
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// TestRefusedBeforeTiming: a tree a method's tool cannot carry makes the plan refuse the cell
// with the reason, before anything runs: erofs-utils before 1.8 and a name of 255 bytes, 9p's
// mapped security models and symlinks. Otherwise nothing is refused.
func TestRefusedBeforeTiming(t *testing.T) {
	longName := tree.Report{Findings: []tree.Finding{{Rel: "d/" + strings.Repeat("x", 255), Kind: tree.KindLongName}}}
	erofs := func(version string, r tree.Report) Config {
		c := cfg(Params{"compression": "none", "upper": "tmpfs", "device": "blk"})
		c.Tools, c.Survey = Found{"erofs-utils": {Path: "/usr/bin/mkfs.erofs", Version: version}}, r
		return c
	}
	ninep := func(model string, symlinks int64) Config {
		c := cfg(Params{"msize": int64(512000), "cache": "none", "security_model": model, "upper": "tmpfs"})
		c.Survey = tree.Report{Symlinks: symlinks}
		return c
	}
	for _, tc := range []struct {
		name string
		m    Method
		c    Config
		want string
	}{
		{"erofs 1.5, a 255-byte name", Erofs{}, erofs("mkfs.erofs 1.5", longName), "cannot store a name of 255 bytes"},
		{"erofs 1.8.6, a 255-byte name", Erofs{}, erofs("mkfs.erofs (erofs-utils) 1.8.6", longName), ""},
		{"erofs 1.5, no long name", Erofs{}, erofs("mkfs.erofs 1.5", tree.Report{}), ""},
		{"9p mapped-xattr, symlinks", NineP{}, ninep("mapped-xattr", 2), "cannot present the tree's 2 symlinks"},
		{"9p mapped-file, symlinks", NineP{}, ninep("mapped-file", 1), "too many levels of symbolic links"},
		{"9p none, symlinks", NineP{}, ninep("none", 2), ""},
		{"9p mapped-xattr, no symlink", NineP{}, ninep("mapped-xattr", 0), ""},
	} {
		got := planOf(tc.m, tc.c).Refused
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: refused %q, want %q", tc.name, got, tc.want)
		}
	}
}
