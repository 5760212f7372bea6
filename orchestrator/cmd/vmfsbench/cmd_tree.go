package main

import (
	"context"
	"fmt"
	"io"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/llvmtree"
)

// cmdTree makes a real LLVM tree in the cache: the source of an LLVM release from Debian's
// archive and a build/stage2cross whose tools are Debian's build for the guest architecture.
func cmdTree(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tree llvm", stderr)
	major := fs.Int("version", 15, "the LLVM `MAJOR` release: 15 (Debian 12) or 19 (Debian 13)")
	arch := fs.String("arch", "x86_64", "the guest's `ARCH`, whose tools go into build/stage2cross: x86_64, aarch64 or riscv64")
	mirror := fs.String("mirror", "", "Debian archive `URL` (default: the host apt's mirror for the release's suite)")
	if err := flagsOnly(fs, "llvm", args); err != nil {
		return err
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return usageError{err}
	}
	t, err := llvmtree.Ensure(ctx, cache, llvmtree.Options{Major: *major, Arch: *arch, Mirror: *mirror, Log: stderr})
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "tree      %s\nsource    LLVM %s\ntools     Debian %s for %s in build/stage2cross/bin\nlit       cd build/stage2cross/test && ../bin/llvm-lit -sv .\n",
		t.Dir, t.Version, t.Tools, *arch)
	return nil
}
