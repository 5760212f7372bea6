package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestImageMethods boots a guest on each image method's image of a synthetic tree with the
// seed's exclusions and owner: the guest must read the filtered tree (its digest equals the
// host's), see every entry owned by 1001:1001 and be able to write, the host tree must not
// change, and the image and scratch files must be gone with the cell's work directory
// (runOne checks that).
func TestImageMethods(t *testing.T) {
	needGuest(t)
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := tree.EnsureSynthetic(context.Background(), cache, tree.Synthetic{Files: 600, Bytes: 3 << 20, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method string
		hostLog      []string // what host.log must say
	}{
		{"squashfs", "squashfs: {compression: none}", []string{"-wildcards -ef", "3 excluded paths: .git, build/stage1, build/stage2"}},
		{"erofs", "erofs: {compression: lz4}", []string{"--exclude-path=.git --exclude-path=build/stage1 --exclude-path=build/stage2"}},
		{"ext4", "ext4: {size: auto}", []string{"ext4: route view: private mount namespace, the tree read-only and id-mapped", "ext4: image built in"}},
		{"squashfs upper disk", "squashfs: {compression: lz4, upper: disk}", []string{"scratch.ext4 1048576k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := treeState(t, root)
			res, r := runOne(t, `version: 1
name: guest-test
qemu: {cpus: 2, memory: 512MiB, accel: tcg, boot_timeout: 2m}
cache: [asis]
methods: [`+tc.method+`]
tree:
  synthetic: {files: 600, bytes: 3MiB, seed: 11}
  exclude: [.git, "build/*", "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
workload: {builtin: read-all, timeout: 5m}
`, func(r *Runner) { r.Verify = true })
			if r.Paths.Tree != root {
				t.Fatalf("the runner used tree %s, not %s", r.Paths.Tree, root)
			}
			logs := filepath.Join(r.Paths.Run, "logs", plan.FileName(res.ID))
			host, _ := os.ReadFile(filepath.Join(logs, HostFile))
			if res.Status != results.StatusOK {
				events, _ := os.ReadFile(filepath.Join(logs, EventsFile))
				console, _ := os.ReadFile(filepath.Join(logs, plan.ConsoleFile))
				t.Fatalf("cell failed: %s\nhost.log:\n%s\nevents:\n%s\nconsole:\n%s", res.Error, host, events, console)
			}
			if res.DigestOK == nil || !*res.DigestOK || r.Want == nil || res.Digest != r.Want.Digest {
				t.Errorf("digest ok %v: guest %s, host %+v", res.DigestOK, res.Digest, r.Want)
			}
			if r.Want != nil && (res.Guest.Files != r.Want.Files || res.Guest.Bytes != r.Want.Bytes || r.Want.Files >= 600) {
				t.Errorf("guest read %d files/%d bytes, host %d/%d (of 600 before exclusions)", res.Guest.Files, res.Guest.Bytes, r.Want.Files, r.Want.Bytes)
			}
			if v := res.Verify; v == nil || len(v.Owners) != 1 || v.Owners["1001:1001"] == 0 || v.WriteError != "" {
				t.Errorf("guest check: %+v; want every entry owned by 1001:1001 and a writable tree", v)
			}
			for _, want := range tc.hostLog {
				if !strings.Contains(string(host), want) {
					t.Errorf("host.log lacks %q:\n%s", want, host)
				}
			}
			t.Logf("phases %v", res.Phases)
			if after := treeState(t, root); after != before {
				t.Error("the host tree changed")
			}
		})
	}
}
