package run

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/results"
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
		// Every block parameter away from its default, in the -blockdev form.
		{"erofs", "erofs: {compression: lz4, aio: io_uring, cache_direct: true, iothread: true, queues: 2}",
			[]string{"--exclude-path=.git --exclude-path=build/stage1 --exclude-path=build/stage2"}},
		{"ext4", "ext4: {size: auto}", []string{"ext4: image built in"}},
		// Linux AIO and an iothread on the tree's disk, in the -blockdev form; the scratch
		// disk behind it keeps QEMU's defaults.
		{"squashfs upper disk", "squashfs: {compression: lz4, upper: disk, aio: native, cache_direct: true, iothread: true}", []string{"scratch.ext4 1048576k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, host := runOnMappedTree(t, tc.method)
			for _, want := range tc.hostLog {
				if !strings.Contains(host, want) {
					t.Errorf("host.log lacks %q:\n%s", want, host)
				}
			}
			if tc.method == "ext4: {size: auto}" {
				// The study's tar route where mkfs.ext4 reads tar: Debian 13's, or on Debian 12 the
				// e2fsprogs `vmfsbench tool fetch` took from bookworm-backports (make test fetches it).
				want := map[string]string{"tar": "ext4: route tar", "view": "ext4: route view: private mount namespace, the tree read-only and id-mapped"}[res.Facts["ext4_route"]]
				if want == "" || !strings.Contains(host, want) {
					t.Errorf("route %q recorded; host.log lacks %q:\n%s", res.Facts["ext4_route"], want, host)
				}
				if testenv.Release() == 12 && (res.Facts["ext4_route"] != "tar" || !strings.Contains(res.Facts["mke2fs"], "fetched")) {
					t.Errorf("on Debian 12 the fetched mke2fs builds by the tar route; the cell says route %q, mke2fs %q",
						res.Facts["ext4_route"], res.Facts["mke2fs"])
				}
			}
			if strings.Contains(tc.method, "aio:") {
				boot := bootCommand(t, res)
				for _, want := range []string{",aio=" + res.Params["aio"].(string) + ",cache.direct=on", "iothread=io0"} {
					if !strings.Contains(boot, want) {
						t.Errorf("the boot command lacks %q: %s", want, boot)
					}
				}
			}
			t.Logf("phases %v facts %v", res.Phases, res.Facts)
		})
	}
}

// bootCommand is the QEMU command line the cell ran, as recorded.
func bootCommand(t *testing.T, res *results.Cell) string {
	t.Helper()
	for _, c := range res.Commands {
		if strings.HasPrefix(filepath.Base(c.Argv[0]), "qemu-system-") {
			return strings.Join(c.Argv, " ")
		}
	}
	t.Fatalf("no QEMU command recorded: %+v", res.Commands)
	return ""
}
