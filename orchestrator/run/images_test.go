package run

import (
	"strings"
	"testing"
)

// TestImageMethods boots a guest on each image method's image of a synthetic tree with the
// seed's exclusions and owner: the guest must read the filtered tree (its digest equals the
// host's), see every entry owned by 1001:1001 and be able to write, the host tree must not
// change, and the image and scratch files must be gone with the cell's work directory
// (runOne checks that).
func TestImageMethods(t *testing.T) {
	needGuest(t)
	for _, tc := range []struct {
		name, method string
		hostLog      []string // what host.log must say
	}{
		{"squashfs", "squashfs: {compression: none}", []string{"-wildcards -ef", "3 excluded paths: .git, build/stage1, build/stage2"}},
		{"erofs", "erofs: {compression: lz4}", []string{"--exclude-path=.git --exclude-path=build/stage1 --exclude-path=build/stage2"}},
		{"ext4", "ext4: {size: auto}", []string{"ext4: image built in"}},
		{"squashfs upper disk", "squashfs: {compression: lz4, upper: disk}", []string{"scratch.ext4 1048576k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, host := runOnMappedTree(t, tc.method)
			for _, want := range tc.hostLog {
				if !strings.Contains(host, want) {
					t.Errorf("host.log lacks %q:\n%s", want, host)
				}
			}
			if tc.method == "ext4: {size: auto}" {
				// The study's tar route where mkfs.ext4 reads tar (Debian 13), else the id-mapped view.
				want := map[string]string{"tar": "ext4: route tar", "view": "ext4: route view: private mount namespace, the tree read-only and id-mapped"}[res.Facts["ext4_route"]]
				if want == "" || !strings.Contains(host, want) {
					t.Errorf("route %q recorded; host.log lacks %q:\n%s", res.Facts["ext4_route"], want, host)
				}
			}
			t.Logf("phases %v facts %v", res.Phases, res.Facts)
		})
	}
}
