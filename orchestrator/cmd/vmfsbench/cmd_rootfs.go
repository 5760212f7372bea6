package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/run"
)

// cmdRootfs builds (or finds in the cache) the Debian guest root filesystem image.
func cmdRootfs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rootfs build", stderr)
	arch := fs.String("arch", rootfs.DefaultArch, "the guest's `ARCH`: x86_64, aarch64, or riscv64 (with --suite trixie; its second stage runs in a riscv64 guest)")
	pkgs := fs.String("packages", "", "comma-separated Debian `PACKAGES` to install on the minimal base (default "+
		strings.Join(rootfs.DefaultPackages, ",")+"; for trixie "+strings.Join(rootfs.TrixiePackages, ",")+")")
	suite := fs.String("suite", "", "the Debian `SUITE` (release); default bookworm, trixie for riscv64")
	mirror := fs.String("mirror", "", "Debian archive `URL` (default: the host apt's mirror for the suite)")
	if err := flagsOnly(fs, "build", args); err != nil {
		return err
	}
	r := rootfs.Recipe{Arch: *arch, Suite: *suite, Mirror: *mirror}
	if *pkgs != "" {
		r.Packages = strings.Split(*pkgs, ",")
	}
	if err := r.Validate(); err != nil {
		return usageError{err}
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return usageError{err}
	}
	img, err := rootfs.BuildWith(ctx, cache, r, stderr, run.SecondStage)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "image     %s\nrecipe    %s %s %s\nsize      %d\npackages  %d installed\npath      %s\nbuilt     %s in %.1fs\n",
		img.Path, img.Recipe.Arch, img.Recipe.Suite, strings.Join(img.Recipe.Packages, ","), img.Size, len(img.Packages), img.SearchPath,
		img.Built.Format("2006-01-02T15:04:05Z"), img.BuildSeconds)
	return nil
}
