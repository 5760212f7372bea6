package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateRefusesWhatPlanRefuses: every refusal that needs no host probe comes from
// validate, with the spec's file:line:col (and from plan and run the same way, before any
// probe): compressed erofs on pmem, pmem on riscv64, a name too long for a directory, a
// mountpoint that is a file of the initramfs. validate accepted all four before.
func TestValidateRefusesWhatPlanRefuses(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "t")
	must(t, os.MkdirAll(tree, 0o755))
	for _, tc := range []struct{ name, body, want string }{
		{"compressed erofs on pmem", "name: x\ntree: {path: t}\nmethods: [erofs: {compression: [none, lz4], device: pmem}]\n",
			"s.yaml:4:11: methods[0].erofs: erofs compression: lz4 cannot be mapped with DAX (erofs DAX reads only uncompressed files): use compression: none with device: pmem\n"},
		{"pmem on riscv64", "name: x\ntree: {path: t}\nguest: {arch: riscv64}\nmethods:\n  - ext4: {device: [blk, pmem]}\n",
			"s.yaml:6:5: methods[0].ext4: ext4 device: pmem cannot work on riscv64: QEMU's virt machine has no virtio-pmem device (use device: blk)\n"},
		{"name too long", "name: " + strings.Repeat("n", 300) + "\ntree: {path: t}\nmethods: [9p: {}]\n",
			"s.yaml:2:7: name: a name of 300 bytes is too long for the results directory it names (at most 252)\n"},
		{"mountpoint /init", "name: x\ntree: {path: t}\nguest: {mountpoint: /init}\nmethods: [9p: {}]\n",
			"s.yaml:4:21: guest.mountpoint: /init is a file of the guest's initramfs (the guest agent), not a directory the tree can be mounted on; choose another directory such as /root/tree\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "s.yaml")
			must(t, os.WriteFile(file, []byte("version: 1\n"+tc.body), 0o644))
			for _, cmd := range []string{"validate", "plan"} {
				code, _, stderr := runCLI(t, cmd, file)
				if code != exitUsage || stderr != filepath.Join(dir, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want %d, %q", cmd, code, stderr, exitUsage, filepath.Join(dir, tc.want))
				}
			}
		})
	}
}
