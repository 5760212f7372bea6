package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/rootfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// errReported means the command already printed its errors: exit 2, print nothing more.
var errReported = errors.New("errors reported")

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vmfsbench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseArgs parses flags that may come before or after the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadSpec loads a spec and expands its cells; on bad input it prints every error, one per
// line, and returns errReported.
func loadSpec(file string, stderr io.Writer) (*spec.Experiment, error) {
	e, err := spec.Load(file)
	if err == nil {
		_, err = plan.Cells(e)
	}
	if err != nil {
		var m *multierror.Error
		if errors.As(err, &m) {
			for _, fe := range m.Errors {
				fmt.Fprintln(stderr, fe)
			}
		} else {
			fmt.Fprintln(stderr, err)
		}
		return nil, errReported
	}
	return e, nil
}

func cmdValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("usage: vmfsbench validate SPEC...")
	}
	bad := false
	for _, f := range files {
		e, err := loadSpec(f, stderr)
		if err != nil {
			bad = true
			continue
		}
		cells, _ := plan.Cells(e)
		fmt.Fprintf(stdout, "%s: ok (%d cells)\n", f, len(cells))
	}
	if bad {
		return errReported
	}
	return nil
}

// paths returns what `plan` can know of a run's locations before the run: the run directory
// is the default one with `<run-id>` for the id the run will get.
func paths(e *spec.Experiment) plan.Paths {
	run, _ := filepath.Abs(filepath.Join("results", "runs", e.Name, "<run-id>"))
	p := plan.Paths{Run: run, Tree: e.Tree.Path, Kernel: e.Guest.Kernel, Modules: e.Guest.Modules,
		Sockets: filepath.Join(os.TempDir(), "vmfsbench.XXXXXX")}
	cache, err := kernel.CacheDir()
	if e.Tree.Synthetic != nil {
		if err != nil {
			p.Tree = "$CACHE/trees/" + synthetic(e).Key()
		} else {
			p.Tree = filepath.Join(cache, "trees", synthetic(e).Key())
		}
	}
	if p.Rootfs = e.Guest.Rootfs; p.Rootfs == spec.RootfsBuilt {
		p.Rootfs = "$CACHE/rootfs/<vmfsbench rootfs build image>"
		if err == nil {
			if img, err := rootfs.Find(cache, rootfs.Recipe{Arch: e.Guest.Arch}); err == nil {
				p.Rootfs = img.Path
			}
		}
	}
	if p.Kernel == "" {
		p.Kernel, p.Modules = "$KERNEL", "$MODULES"
		if err == nil {
			if k, err := kernel.Find(cache, e.Guest.Arch); err == nil {
				p.Kernel, p.Modules = k.Vmlinuz, k.ModulesDir
			}
		}
	}
	return p
}

func synthetic(e *spec.Experiment) tree.Synthetic {
	s := e.Tree.Synthetic
	return s.Tree()
}

func cmdPlan(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", stderr)
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("usage: vmfsbench plan SPEC [--json]")
	}
	e, err := loadSpec(files[0], stderr)
	if err != nil {
		return err
	}
	cells, err := plan.Expand(e, paths(e))
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Spec  string      `json:"spec"`
			Name  string      `json:"name"`
			Cells []plan.Cell `json:"cells"`
		}{e.File, e.Name, cells})
	}
	plan.WriteText(stdout, e, cells)
	return nil
}

func cmdDigest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("digest", stderr)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usagef("usage: vmfsbench digest SPEC")
	}
	e, err := loadSpec(files[0], stderr)
	if err != nil {
		return err
	}
	root := e.Tree.Path
	if e.Tree.Synthetic != nil {
		cache, err := kernel.CacheDir()
		if err != nil {
			return usageError{err}
		}
		if root, err = tree.EnsureSynthetic(ctx, cache, synthetic(e)); err != nil {
			return usageError{err}
		}
	}
	m, err := tree.NewMatcher(e.Tree.Exclude)
	if err != nil {
		return usageError{err}
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return usagef("%s: tree.path %s is not a directory", e.File, root)
	}
	sum, err := tree.DigestTree(ctx, root, m)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "tree      %s\nexclude   %s\nfiles     %d\nsymlinks  %d\nbytes     %d\ndigest    %s\n",
		root, strings.Join(e.Tree.Exclude, " "), sum.Files, sum.Symlinks, sum.Bytes, sum.Digest)
	return nil
}

func cmdKernel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "fetch" {
		return usagef("usage: vmfsbench kernel fetch [--arch x86_64|aarch64]")
	}
	fs := newFlags("kernel fetch", stderr)
	arch := fs.String("arch", "x86_64", "guest architecture: x86_64 or aarch64")
	if rest, err := parseArgs(fs, args[1:]); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("usage: vmfsbench kernel fetch [--arch x86_64|aarch64]")
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return usageError{err}
	}
	k, err := kernel.Fetch(ctx, cache, *arch, stderr)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "kernel   %s (%s, %s)\nvmlinuz  %s\nmodules  %s\n", k.Version, k.Arch, k.Package, k.Vmlinuz, k.ModulesDir)
	return nil
}
