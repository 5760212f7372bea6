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

// TestStreamMethods boots a guest per stream method that receives the synthetic tree (seed
// exclusions, owner 1001:1001) as tar and reads it back: the guest's digest must be the
// host's, every entry owned by 1001:1001, and the host tree untouched.
func TestStreamMethods(t *testing.T) {
	needGuest(t)
	synth := tree.Synthetic{Files: 600, Bytes: 3 << 20, Seed: 11}
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := tree.EnsureSynthetic(context.Background(), cache, synth)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, method string }{
		{"serial-tar", "serial-tar: {}"},
		{"ssh-tar chacha20", "ssh-tar: {cipher: chacha20-poly1305@openssh.com}"},
		{"ssh-tar aes128-gcm", "ssh-tar: {cipher: aes128-gcm@openssh.com}"},
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
			if res.Status != results.StatusOK {
				host, _ := os.ReadFile(filepath.Join(logs, HostFile))
				events, _ := os.ReadFile(filepath.Join(logs, EventsFile))
				t.Fatalf("cell failed: %s\nhost.log:\n%s\nevents:\n%s", res.Error, host, events)
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
			if res.Phases["transfer"] <= 0 || res.Phases["mount"] <= 0 {
				t.Errorf("phases %v", res.Phases)
			}
			host, _ := os.ReadFile(filepath.Join(logs, HostFile))
			if !strings.Contains(string(host), " tar bytes (") {
				t.Errorf("host.log does not report the transfer:\n%s", host)
			}
			t.Logf("phases %v; %s", res.Phases, lastLine(string(host), "tar bytes"))
			if after := treeState(t, root); after != before {
				t.Error("the host tree changed")
			}
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
