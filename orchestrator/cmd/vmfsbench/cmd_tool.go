package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/debarchive"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
)

// cmdTool fetches host tools this Debian release lacks from Debian's archive into the cache:
// the Rust virtiofsd of Debian 13 with its own C library and loader, and e2fsprogs that reads
// tar from bookworm-backports. The methods find them there.
func cmdTool(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("tool fetch", stderr)
	mirror := fs.String("mirror", "", "Debian archive `URL` (default: the host apt's)")
	refresh := fs.Bool("refresh", false, "fetch anew even when the cache has the tool")
	args, err := subcommand(fs, "fetch", args)
	if err != nil {
		return err
	}
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return badArgsError{fs, fmt.Errorf("name a tool: %s", strings.Join(debarchive.Names(), ", "))}
	}
	for _, n := range names {
		if _, ok := debarchive.Bundles[n]; !ok {
			return badArgsError{fs, fmt.Errorf("no tool %q to fetch (tools: %s)", n, strings.Join(debarchive.Names(), ", "))}
		}
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return usageError{err}
	}
	for _, n := range names {
		b := debarchive.Bundles[n]
		m := *mirror
		if m == "" {
			if m, err = rootfs.HostMirror("/etc/apt", b.Suites[0]); err != nil {
				return usageError{err}
			}
		}
		r, err := debarchive.Ensure(ctx, cache, m, b, *refresh, stderr)
		if errors.Is(err, debarchive.ErrHostHas) {
			fmt.Fprintf(stdout, "%-10s not fetched: %v\n", n, err)
			continue
		}
		if err != nil {
			return usageError{err}
		}
		for _, prog := range b.Programs {
			argv, err := r.Command(prog)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(stdout, "%-10s %s %s (%s)\n           %s\n", n, b.Want[0], r.Version(r.Packages[0].Name), r.Packages[0].Suite, strings.Join(argv, " "))
		}
	}
	return nil
}
