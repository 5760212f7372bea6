package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
)

const rootfsUsage = "usage: vmfsbench rootfs build [--arch x86_64|aarch64] [--packages p1,p2,...] [--suite SUITE] [--mirror URL]"

// cmdRootfs builds (or finds in the cache) the Debian guest root filesystem image.
func cmdRootfs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		return usagef(rootfsUsage)
	}
	fs := newFlags("rootfs build", stderr)
	arch := fs.String("arch", rootfs.DefaultArch, "guest architecture: x86_64 or aarch64")
	pkgs := fs.String("packages", strings.Join(rootfs.DefaultPackages, ","), "comma-separated Debian packages to install on the minimal base")
	suite := fs.String("suite", rootfs.DefaultSuite, "Debian release")
	mirror := fs.String("mirror", "", "Debian archive URL (default: the host apt's mirror for the suite)")
	if rest, err := parseArgs(fs, args[1:]); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef(rootfsUsage)
	}
	r := rootfs.Recipe{Arch: *arch, Suite: *suite, Mirror: *mirror, Packages: strings.Split(*pkgs, ",")}
	if err := r.Validate(); err != nil {
		return usageError{err}
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return usageError{err}
	}
	img, err := rootfs.Build(ctx, cache, r, stderr)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "image     %s\nrecipe    %s %s %s\nsize      %d\npackages  %d installed\npath      %s\nbuilt     %s in %.1fs\n",
		img.Path, img.Recipe.Arch, img.Recipe.Suite, strings.Join(img.Recipe.Packages, ","), img.Size, len(img.Packages), img.SearchPath,
		img.Built.Format("2006-01-02T15:04:05Z"), img.BuildSeconds)
	return nil
}
