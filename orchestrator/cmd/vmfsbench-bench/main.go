// Command vmfsbench-bench measures what vmfsbench itself costs, on one synthetic tree and in
// one run, each figure next to the raw tool doing the same job by hand:
//
//   - the orchestrator's overhead per cell: a real `vmfsbench run` of the image and stream
//     methods, each cell's wall time minus its measured phases;
//   - image builds: the squashfs, erofs and ext4 build steps against mksquashfs, mkfs.erofs
//     and mkfs.ext4 run with the same options on a filtered copy of the tree;
//   - the tar stream (tree.WriteTar) against GNU tar -c, to /dev/null and through a pipe;
//   - ssh-tar and serial-tar transfer throughput against a plain tar | tar on the host;
//   - boot to agent-ready against a trivial /init on the same kernel;
//   - the tree walk with exclusions against find, the host digest against sha256sum;
//   - the orchestrator's peak memory on 100,000 and 1,000,000-entry trees (flat).
//
// It prints a Markdown table `figure | vmfsbench | reference | ratio | goal | met?` and the
// notes that explain it. `make bench` runs it; see BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// options are the command line.
type options struct {
	vmfsbench string // the CLI binary for the real run
	reference string // the seed study's published figures (a results/reference CSV)
	runs      int    // timed repetitions of each host-side figure
	boots     int    // boots of each initramfs
	files     int    // the synthetic tree
	mib       int64
	huge      bool // the 1,000,000-entry memory figure
	guest     bool // the figures that boot guests
	accel     string
	keep      bool // keep the scratch directory
	scratch   string
	only      map[string]bool // the groups of figures to measure; nil: all
}

// groups are the groups of figures, in the order they are measured.
var groups = []string{"tar", "images", "walk", "memory", "run", "boot"}

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode, os.Args[1:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "vmfsbench-bench: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("vmfsbench-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.vmfsbench, "vmfsbench", "bin/vmfsbench", "the vmfsbench binary for the real run (make build)")
	fs.StringVar(&o.reference, "reference", "results/reference/seed-2024-10.csv", "the seed study's published figures, which the notes compare with (a results/reference CSV)")
	fs.IntVar(&o.runs, "runs", 3, "timed repetitions of each host-side figure (the best, which the ratio uses, and the median are reported)")
	fs.IntVar(&o.boots, "boots", 3, "boots of each initramfs for the boot figure")
	fs.IntVar(&o.files, "files", 20000, "files of the synthetic tree")
	fs.Int64Var(&o.mib, "mib", 300, "MiB of the synthetic tree")
	fs.BoolVar(&o.huge, "huge", true, "measure peak memory on a 1,000,000-entry tree too (made on tmpfs, ~1 GiB of RAM for a minute)")
	fs.BoolVar(&o.guest, "guest", true, "run the figures that boot guests (the real run and the boot figure)")
	fs.StringVar(&o.accel, "accel", "tcg", "accelerator of the guests: tcg or kvm")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (filtered copy, images, the run's results)")
	fs.StringVar(&o.scratch, "scratch", "", "scratch directory, on the tree's file system (default: a new one in $TMPDIR)")
	only := fs.String("only", "", "measure only these groups of figures, comma-separated: "+strings.Join(groups, ","))
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, g := range strings.Split(*only, ",") {
			if !slices.Contains(groups, g) {
				return o, fmt.Errorf("-only: unknown group %q (groups: %s)", g, strings.Join(groups, ", "))
			}
			o.only[g] = true
		}
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.runs < 1 || o.boots < 1 {
		return o, errors.New("-runs and -boots must be at least 1")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return err
	}
	syn := synthetic.Tree{Files: o.files, Bytes: o.mib << 20, Seed: 1}
	logf("synthetic tree %s (generated once into %s)", syn.Key(), filepath.Join(cache, "trees"))
	root, err := synthetic.Ensure(ctx, cache, syn)
	if err != nil {
		return err
	}
	scratch := o.scratch
	if scratch == "" {
		if scratch, err = tmpdir.Make("bench"); err != nil {
			return err
		}
	}
	if !o.keep {
		defer removeAll(scratch)
	}
	b, err := newBench(ctx, root, scratch, o, logf)
	if err != nil {
		return err
	}
	defer b.close()
	var figs []figure
	fns := map[string]func(context.Context) ([]figure, error){
		"tar": b.tarFigures, "images": b.imageFigures, "walk": b.walkFigures,
		"memory": b.memoryFigures, "run": b.runFigures, "boot": b.bootFigures,
	}
	for _, g := range groups {
		if (o.only != nil && !o.only[g]) || (!o.guest && (g == "run" || g == "boot")) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		logf("measuring: %s", g)
		f, err := fns[g](ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", g, err)
		}
		figs = append(figs, f...)
	}
	writeReport(stdout, b.machine, figs, time.Since(start))
	if o.keep {
		fmt.Fprintf(stdout, "\nscratch kept in %s\n", scratch)
	}
	return nil
}

// removeAll removes a scratch directory, making read-only directories writable first.
func removeAll(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}
