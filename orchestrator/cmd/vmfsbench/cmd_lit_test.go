package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestLitMap: lit's arguments as LLVM's build passes them: absolute paths in the tree (also
// through a symlink, and as an --option=PATH) become the guest's, relative ones and options
// stay, and a path outside the tree is named.
func TestLitMap(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "llvm-project")
	os.MkdirAll(filepath.Join(root, "build/stage2cross/bin"), 0o755)
	os.MkdirAll(filepath.Join(root, "llvm/test/Assembler"), 0o755)
	os.WriteFile(filepath.Join(root, "build/stage2cross/bin/llvm-lit"), []byte("#!/usr/bin/env python3\n"), 0o755)
	os.Symlink(root, filepath.Join(base, "link"))
	m := litMap{root: root, mountpoint: "/home/user/llvm-project"}
	for _, tc := range []struct{ in, want, outside string }{
		{"-sv", "-sv", ""},
		{"--param=build_mode=Release", "--param=build_mode=Release", ""},
		{filepath.Join(root, "build/stage2cross/test"), "/home/user/llvm-project/build/stage2cross/test", ""},
		{filepath.Join(base, "link/llvm/test/Assembler"), "/home/user/llvm-project/llvm/test/Assembler", ""},
		{"--config-prefix=" + filepath.Join(root, "llvm/test/x"), "--config-prefix=/home/user/llvm-project/llvm/test/x", ""},
		{"test/Assembler", "test/Assembler", ""},
		{"/tmp/results.xml", "/tmp/results.xml", "/tmp/results.xml"},
	} {
		got, outside := m.arg(tc.in)
		if got != tc.want || outside != tc.outside {
			t.Errorf("%s: %q (outside %q), want %q (%q)", tc.in, got, outside, tc.want, tc.outside)
		}
	}
	lit, err := findLit(m, filepath.Join(root, "build/stage2cross/test/Assembler"))
	if err != nil || lit != filepath.Join(root, "build/stage2cross/bin/llvm-lit") {
		t.Errorf("findLit: %s, %v", lit, err)
	}
	if _, err := findLit(m, filepath.Join(root, "llvm/test")); err == nil || !strings.Contains(err.Error(), "--lit") {
		t.Errorf("findLit outside a build: %v", err)
	}
	if rel, ok := m.rel(root); !ok || rel != "." {
		t.Errorf("the root: %q %v", rel, ok)
	}
}

// TestMethodBest: --method best takes the variant with the lowest median total of the
// spec's latest complete run (beside the spec's checkout, or --from DIR), says which and why,
// passes over a newer run that did not finish, and refuses when no run is complete.
func TestMethodBest(t *testing.T) {
	base := t.TempDir()
	specData, err := os.ReadFile("../../../specs/seed-llvm-riscv64.yaml")
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(base, "specs"), 0o755))
	specFile := filepath.Join(base, "specs", "seed.yaml")
	// The fixture is a run of the seed spec as it stood in 2024: the test's spec has its methods.
	head, _, _ := strings.Cut(string(specData), "\nmethods:")
	methods := `
methods:
  - 9p: {msize: [512000, 65536], cache: none}
  - virtiofs: {cache: always, queue_size: 1024}
  - squashfs: {compression: none}
  - ext4: {}
  - ssh-tar: {}
reference: ref.csv
`
	must(t, os.WriteFile(specFile, []byte(head+methods), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "specs", "ref.csv"), []byte("method,cache,seconds\n"), 0o644))
	runs := filepath.Join(base, "results", "runs", "seed-llvm-riscv64")
	old := filepath.Join(runs, "20241015-120000")
	must(t, os.CopyFS(old, os.DirFS(filepath.Join(fixtures, "seed-a"))))
	newer := filepath.Join(runs, "20241016-120000")
	must(t, os.CopyFS(newer, os.DirFS(filepath.Join(fixtures, "seed-a"))))
	meta, err := os.ReadFile(filepath.Join(newer, "run.json"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(newer, "run.json"), []byte(strings.Replace(string(meta), `"end": "2024-10-15T17:39:40Z"`, `"end": "0001-01-01T00:00:00Z"`, 1)), 0o644))

	e, err := spec.Load(specFile)
	must(t, err)
	v, why, err := bestMethod(e, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best: %s: %s", v, why)
	if !slices.Contains(plan.Variants(e), v) || !strings.Contains(why, old) || !strings.Contains(why, "20241016-120000 (not finished)") {
		t.Errorf("best %q, why %q: want a variant of the spec from %s, the newer run passed over", v, why, old)
	}
	ranks := results.RankVariants(mustRun(t, old).Cells)
	if v != ranks[0].Variant || ranks[0].Median > ranks[1].Median {
		t.Errorf("best %s, ranking %+v", v, ranks)
	}
	if _, _, err := bestMethod(e, newer); err == nil || !strings.Contains(err.Error(), "not finished") {
		t.Errorf("--from an unfinished run: %v", err)
	}
	os.RemoveAll(old)
	if _, _, err := bestMethod(e, ""); err == nil || !strings.Contains(err.Error(), "no complete run") {
		t.Errorf("no complete run: %v", err)
	}
}

func mustRun(t *testing.T, dir string) *results.Run {
	t.Helper()
	r, err := results.ReadRun(dir)
	must(t, err)
	return r
}

// TestExecShowCommand: --show-command prints the one cell exec would run (the method's
// build, the QEMU command, the command in place of the workload) and runs nothing; bad
// calls are usage errors.
func TestExecShowCommand(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "tree"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "tree", "a"), []byte("a"), 0o644))
	specFile := filepath.Join(dir, "s.yaml")
	must(t, os.WriteFile(specFile, []byte("version: 1\nname: show\ntree: {path: tree}\nqemu: {accel: tcg}\n"+
		"workload: {builtin: read-all}\ncache: [empty]\nrepetitions: 3\nmethods: [9p: {}, erofs: {compression: [lz4, none]}]\n"), 0o644))
	code, out, errs := runCLI(t, "exec", specFile, "--method", "erofs", "--cwd", "sub", "--show-command", "--", "ls", "-l")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"1 cells", "cell 1/1 erofs.compression=lz4/asis/r1", "mkfs.erofs", "qemu-system-x86_64",
		"cd /root/tree/sub && ls -l", "image cache: the build-image step is skipped when"} {
		if !strings.Contains(out, want) {
			t.Errorf("--show-command lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"exec", specFile, "ls"},                               // no --
		{"exec", specFile, "--"},                               // no command
		{"exec", specFile, "--method", "squashfs", "--", "ls"}, // not in the spec
		{"exec", specFile, "--from", dir, "--", "ls"},          // --from without best
	} {
		if code, _, errs := runCLI(t, args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, errs, exitUsage)
		}
	}
}
