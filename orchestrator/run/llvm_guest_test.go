package run

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/llvmtree"
	"github.com/vmfsbench/vmfsbench/results"
)

// llvmTests are a handful of LLVM 15's own tests, as lit names them under llvm/test.
var llvmTests = []string{
	"Assembler/2002-03-08-NameCollision.ll", "Assembler/2002-04-07-HexFloatConstants.ll",
	"Assembler/2002-07-25-QuoteInString.ll", "Assembler/ConstantExprFold.ll", "Assembler/alias-redefinition.ll",
}

// TestRealLLVMLitInGuest runs LLVM's own tests from a real LLVM 15 tree (Debian's source,
// `vmfsbench tree llvm`) in a guest, over a squashfs of the tree with the seed's exclusions
// and more, as the user 1001: lit is the tree's llvm/utils/lit and every tool it execs
// (opt, llvm-as, FileCheck, not, ...) is loaded from the tree's build/stage2cross/bin, through
// the method, as in the study. Every test must pass.
func TestRealLLVMLitInGuest(t *testing.T) {
	needGuest(t)
	needRootfs(t)
	if os.Getuid() != 0 {
		testenv.Missing(t, "the guest rootfs's chroot and the image build need root")
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := llvmtree.Ensure(context.Background(), cache, llvmtree.Options{Major: 15, Arch: "x86_64", Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, x := range llvmTests {
		args = append(args, "../../../llvm/test/"+x)
	}
	res, _ := runOne(t, `version: 1
name: llvm-test
qemu: {cpus: 2, memory: 1GiB, accel: tcg}
cache: [asis]
methods: [squashfs: {}]
tree:
  path: `+tr.Dir+`
  exclude: [.git, "/*", "!/llvm", "/llvm/*", "!/llvm/test", "!/llvm/utils", "/llvm/utils/*", "!/llvm/utils/lit",
    "/llvm/test/*", "!/llvm/test/lit.cfg.py", "!/llvm/test/Assembler", "!/build", "/build/*", "!/build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
guest:
  rootfs: built
  mountpoint: /home/user/llvm-project
  user: {uid: 1001, gid: 1001}
workload:
  cwd: build/stage2cross/test
  command: [../bin/llvm-lit, -sv, --order=lexical, `+strings.Join(args, ", ")+`]
  env: {HOME: /home/user, LANG: C.UTF-8}
  timeout: 10m
`, nil)
	if res.Status != results.StatusOK {
		t.Fatalf("cell failed: %s", res.Error)
	}
	if res.Lit == nil || res.Lit.Passed != len(llvmTests) || len(res.Lit.Counts) != 1 {
		t.Fatalf("lit %+v, want %d passed and nothing else", res.Lit, len(llvmTests))
	}
}
