package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-multierror"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// errReported means the command already printed its errors: exit 2, print nothing more.
var errReported = errors.New("errors reported")

// newFlags makes a command's flag set. It prints nothing: vmfsbench prints the command's
// usage, generated from the flag set, for --help (to stdout) and for a bad flag or argument
// (to stderr).
func newFlags(name string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vmfsbench "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// helpRequested is parseArgs' answer to -h or --help: vmfsbench prints the usage, exit 0.
type helpRequested struct{ fs *flag.FlagSet }

func (helpRequested) Error() string { return "help requested" }

// badArgsError is a bad flag or a wrong number of arguments: vmfsbench prints err, if any,
// and the command's usage; exit 2.
type badArgsError struct {
	fs  *flag.FlagSet
	err error
}

func (b badArgsError) Error() string {
	if b.err == nil {
		return "bad arguments"
	}
	return b.err.Error()
}

// badArgs reports wrong positional arguments of the command whose flag set is fs.
func badArgs(fs *flag.FlagSet) error { return badArgsError{fs: fs} }

// exclusive are the pairs of flags that cannot be given together.
var exclusive = [][2]string{{"keep-going", "fail-fast"}}

// parseArgs parses flags that may come before or after the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, helpRequested{fs}
		} else if err != nil {
			return nil, badArgsError{fs, err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, p := range exclusive {
		if set[p[0]] && set[p[1]] {
			return nil, badArgsError{fs, fmt.Errorf("--%s and --%s exclude each other", p[0], p[1])}
		}
	}
	return pos, nil
}

// failureFlags defines --fail-fast and its opposite --keep-going, the default, and returns
// whether to stop at the first failed cell.
func failureFlags(fs *flag.FlagSet) *bool {
	failFast := fs.Bool("fail-fast", false, "stop at the first failed cell; excludes --keep-going")
	fs.Var(notFlag{failFast}, "keep-going", "run the remaining cells after a failed cell; excludes --fail-fast")
	return failFast
}

// notFlag is a boolean flag that sets the negation of b.
type notFlag struct{ b *bool }

func (n notFlag) IsBoolFlag() bool { return true }

func (n notFlag) String() string {
	if n.b == nil {
		return "true"
	}
	return strconv.FormatBool(!*n.b)
}

func (n notFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*n.b = !v
	return nil
}

// loadSpec loads a spec and expands its cells; on bad input it prints every error, one per
// line, and returns errReported.
func loadSpec(file string, stderr io.Writer) (*spec.Experiment, error) {
	e, err := spec.Load(file)
	if err == nil {
		_, err = plan.Cells(e)
	}
	if err == nil {
		err = plan.Check(e)
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
		return badArgs(fs)
	}
	bad := false
	for _, f := range files {
		e, err := loadSpec(f, stderr)
		if err != nil {
			bad = true
			continue
		}
		cells, _ := plan.Cells(e)
		for _, w := range spec.Warnings(e) {
			fmt.Fprintf(stderr, "%s: warning: %s\n", f, w)
		}
		fmt.Fprintf(stdout, "%s: ok (%d cells)\n", f, len(cells))
	}
	if bad {
		return errReported
	}
	return nil
}

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", stderr)
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	verify := fs.Bool("verify", false, "plan the cells as run --verify runs them")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return badArgs(fs)
	}
	e, err := loadSpec(files[0], stderr)
	if err != nil {
		return err
	}
	// The host is probed as a run probes it, so the plan shows the commands a run executes,
	// with $RUN and $SOCKETS for the run's directories; what is not there yet is noted.
	found, err := probe.Host(ctx, e, probe.Options{Lenient: true})
	if err != nil {
		return usageError{err}
	}
	cells, err := plan.Expand(e, found.Host, plan.PlanDirs, plan.Choices{Verify: *verify})
	if err != nil {
		return usageError{err}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Spec  string      `json:"spec"`
			Name  string      `json:"name"`
			Notes []string    `json:"notes,omitempty"`
			Cells []plan.Cell `json:"cells"`
		}{e.File, e.Name, found.Notes, cells})
	}
	plan.WriteText(stdout, e, cells)
	for _, n := range found.Notes {
		fmt.Fprintf(stdout, "NOTE: %s\n", n)
	}
	return nil
}

func cmdDigest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("digest", stderr)
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return badArgs(fs)
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
		if root, err = synthetic.Ensure(ctx, cache, e.Tree.Synthetic.Tree()); err != nil {
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
	fs := newFlags("kernel fetch", stderr)
	arch := fs.String("arch", "x86_64", "the guest's `ARCH`: x86_64, aarch64 or riscv64 (Debian 13's kernel)")
	if err := flagsOnly(fs, "fetch", args); err != nil {
		return err
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

// flagsOnly parses the flags of the two-word command "<name> sub", which takes no other
// argument.
func flagsOnly(fs *flag.FlagSet, sub string, args []string) error {
	args, err := subcommand(fs, sub, args)
	if err != nil {
		return err
	}
	if rest, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return badArgs(fs)
	}
	return nil
}

// subcommand strips the subcommand word sub from args; without it, --help is still answered.
func subcommand(fs *flag.FlagSet, sub string, args []string) ([]string, error) {
	if len(args) > 0 && args[0] == sub {
		return args[1:], nil
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		return nil, helpRequested{fs}
	}
	return nil, badArgs(fs)
}
