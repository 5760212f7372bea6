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

// TestExclusionsLeaveNothing: a run whose exclusions leave no file of the tree is refused
// before anything is written (exit 2), and its plan says so; it ran silently before, every
// cell ok on an empty tree.
func TestExclusionsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "t", "a"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "t", "a", "f"), []byte("x"), 0o644))
	file := filepath.Join(dir, "s.yaml")
	must(t, os.WriteFile(file, []byte("version: 1\nname: x\ntree: {path: t, exclude: [a]}\nqemu: {accel: tcg}\nmethods: [9p: {}]\n"), 0o644))
	want := file + ": tree.exclude leaves no file of " + filepath.Join(dir, "t") + " (1 rules): every cell would measure an empty tree; loosen the rules"
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI(t, "run", file, "-o", out); code != exitUsage || stderr != "vmfsbench run: "+want+"\n" {
		t.Errorf("run: exit %d, stderr %q; want %d, %q", code, stderr, exitUsage, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the run directory was made: %v", err)
	}
	if code, stdout, stderr := runCLI(t, "plan", file); code != exitOK || !strings.Contains(stdout+stderr, want) {
		t.Errorf("plan: exit %d, output does not say %q:\n%s%s", code, want, stdout, stderr)
	}
}
