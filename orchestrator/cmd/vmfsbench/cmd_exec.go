package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/run"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
	"github.com/vmfsbench/vmfsbench/results"
)

// exitStatus is an exit status a command chose itself: exec's is its command's.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// keptImages is how many images exec keeps per spec and method variant.
const keptImages = 3

// execFlags are the flags exec and lit share.
type execFlags struct {
	method, from *string
	show         *bool
}

func addExecFlags(fs interface {
	String(name, value, usage string) *string
	Bool(name string, value bool, usage string) *bool
}) execFlags {
	return execFlags{
		method: fs.String("method", "", "carry the tree by the method entry `NAME` (a method, or a variant as cell IDs name it, e.g. 9p.msize=512000); "+
			"best: the one with the lowest median total in the spec's latest complete run (default: the spec's first)"),
		from: fs.String("from", "", "with --method best, rank the methods of the run in `DIR` instead"),
		show: fs.Bool("show-command", false, "print the steps and the QEMU command, run nothing"),
	}
}

// splitCommand splits args at the first "--" into vmfsbench's arguments and the command.
func splitCommand(args []string) (own, command []string, ok bool) {
	i := slices.Index(args, "--")
	if i < 0 {
		return args, nil, false
	}
	return args[:i], args[i+1:], true
}

func cmdExec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("exec", stderr)
	xf := addExecFlags(fs)
	cwd := fs.String("cwd", "", "run the command in `DIR`, relative to the mountpoint (default: the workload's cwd)")
	own, command, dashes := splitCommand(args)
	files, err := parseArgs(fs, own)
	if err != nil {
		return err
	}
	if len(files) != 1 || !dashes || len(command) == 0 {
		return badArgs(fs)
	}
	e, err := loadSpec(files[0], stderr)
	if err != nil {
		return err
	}
	return execute(ctx, e, xf, plan.ExecRequest{Command: command, Cwd: *cwd}, stdout, stderr)
}

// execute runs one command in one guest of e, as `vmfsbench exec` does, and returns the
// command's exit status as an exitStatus (nil for 0); vmfsbench's own failures are errors.
func execute(ctx context.Context, e *spec.Experiment, xf execFlags, req plan.ExecRequest, stdout, stderr io.Writer) error {
	prog := &prefixed{w: stderr, prefix: "vmfsbench: "}
	req.Method = *xf.method
	if req.Method == "best" {
		v, why, err := bestMethod(e, *xf.from)
		if err != nil {
			return usagef("--method best: %v", err)
		}
		req.Method = v
		fmt.Fprintf(prog, "--method best: %s\n", why)
	} else if *xf.from != "" {
		return usagef("--from goes with --method best")
	}
	n, err := plan.ForExec(e, req)
	if err != nil {
		return usageError{err}
	}
	if *xf.show {
		found, err := probe.Host(ctx, n, probe.Options{Lenient: true})
		if err != nil {
			return usageError{err}
		}
		c, err := execCell(n, found.Host, plan.PlanDirs)
		if err != nil {
			return err
		}
		plan.WriteText(stdout, n, []plan.Cell{c})
		for _, s := range c.Steps {
			if len(s.Images) > 0 {
				fmt.Fprintf(stdout, "\nimage cache: the %s step is skipped when %s holds an image of the unchanged tree\n", s.Kind, imageDir(found.Host.Cache, n, c))
			}
		}
		for _, note := range found.Notes {
			fmt.Fprintf(stdout, "NOTE: %s\n", note)
		}
		return nil
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return usageError{err}
	}
	// The cell's files live in the cache (next to the kept images, so that they are hard
	// links) and go when exec ends, however it ends.
	if err := os.MkdirAll(filepath.Join(cache, "exec"), 0o755); err != nil {
		return usageError{err}
	}
	dir, err := tmpdir.MakeIn(filepath.Join(cache, "exec"), plan.FileName(n.Name)) // a killed exec's is removed by the next
	if err != nil {
		return usageError{err}
	}
	defer os.RemoveAll(dir)
	// probe -> plan -> check -> run.
	progress := run.NewProgress(prog)
	defer progress.Close()
	found, err := probe.Host(ctx, n, probe.Options{Logf: progress.Logf})
	if err != nil {
		return usageError{err}
	}
	dirs, err := run.NewDirs(dir, found.Host.Tree)
	if err != nil {
		return usageError{err}
	}
	r := run.NewRunner(run.TreeOf(found), dirs, progress)
	defer r.Close()
	c, err := execCell(n, found.Host, dirs)
	if err != nil {
		return err
	}
	if err := probe.CheckTools([]plan.Cell{c}, "", found.Host, n.Guest.Arch); err != nil {
		return usageError{err}
	}
	x := run.ExecIO{Stdout: stdout, Stderr: stderr}
	if slices.ContainsFunc(c.Steps, func(s method.Step) bool { return len(s.Images) > 0 }) {
		// The fingerprint the probe took; the cell checks the tree against it after the build.
		x.Images = &run.ImageCache{Dir: imageDir(found.Host.Cache, n, c), Tree: found.TreeAtStart.Digest(), Salt: imageSalt(n, c, found.Host), Keep: keptImages,
			Note: progress.Logf}
	}
	res := r.Exec(ctx, c, x)
	if res.Status >= 0 && strings.Contains(res.Cell.Error, run.ErrTreeChanged.Error()) {
		fmt.Fprintf(prog, "warning: %s\n", res.Cell.Error)
	}
	switch {
	case res.Status == 0:
		return nil
	case res.Status > 0:
		if res.NotStarted {
			fmt.Fprintf(prog, "the command did not start: %s\n", res.Cell.Error)
		}
		return exitStatus(res.Status)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %s", res.Cell.Error)
	}
	return errors.New(res.Cell.Error)
}

// execCell plans the one cell of n, narrowed by plan.ForExec, on host h with the
// directories d.
func execCell(n *spec.Experiment, h plan.Host, d plan.Dirs) (plan.Cell, error) {
	// The user's command, not a measurement: no lit report added.
	cells, err := plan.Expand(n, h, d, plan.Choices{AsGiven: true})
	if err != nil {
		return plan.Cell{}, usageError{err}
	}
	return cells[0], nil
}

// imageDir is where exec keeps the images of the cell's method variant of spec e.
func imageDir(cache string, e *spec.Experiment, c plan.Cell) string {
	return filepath.Join(cache, "images", plan.FileName(e.Name), plan.FileName(strings.TrimSuffix(c.Group, "/asis")))
}

// imageSalt is what an image depends on besides the tree and its build's commands: the
// exclusions and owner (which a build may take from a file the commands only name) and the
// versions of the method's tools.
func imageSalt(e *spec.Experiment, c plan.Cell, h plan.Host) string {
	s := fmt.Sprintf("exclude %q owner %v", e.Tree.Exclude, e.Tree.Owner)
	if tools, err := c.Tools(); err == nil {
		for _, t := range tools {
			s += fmt.Sprintf(" %s=%q", t.Name, h.Tools[t.Name].Version)
		}
	}
	return s
}

// bestMethod picks the method variant of e with the lowest median total in the latest
// complete run of e (or in the run in from), and says why.
func bestMethod(e *spec.Experiment, from string) (variant, why string, err error) {
	dirs := []string{from}
	if from == "" {
		if dirs, err = runsOf(e); err != nil {
			return "", "", err
		}
	}
	known := plan.Variants(e)
	var skipped []string
	for _, dir := range dirs {
		run, err := results.ReadRun(dir)
		if err != nil {
			return "", "", err
		}
		if reason := incomplete(run); reason != "" {
			if from != "" {
				return "", "", fmt.Errorf("%s: %s", dir, reason)
			}
			skipped = append(skipped, filepath.Base(dir)+" ("+reason+")")
			continue
		}
		var ranks []results.VariantRank
		for _, v := range results.RankVariants(run.Cells) {
			if slices.Contains(known, v.Variant) {
				ranks = append(ranks, v)
			}
		}
		if len(ranks) == 0 {
			return "", "", fmt.Errorf("%s has no ok cell of a method %s still has", dir, e.File)
		}
		b := ranks[0]
		why = fmt.Sprintf("%s, median total %.1fs over %d ok cells of the run %s", b.Variant, b.Median, b.OK, dir)
		if b.Failed > 0 {
			why += fmt.Sprintf(" (%d of its cells failed)", b.Failed)
		}
		var next []string
		for _, o := range ranks[1:min(len(ranks), 3)] {
			next = append(next, fmt.Sprintf("%s %.1fs", o.Variant, o.Median))
		}
		if len(next) > 0 {
			why += "; then " + strings.Join(next, ", ")
		}
		if len(skipped) > 0 {
			why += "; newer runs not complete: " + strings.Join(skipped, ", ")
		}
		return b.Variant, why, nil
	}
	if len(skipped) > 0 {
		return "", "", fmt.Errorf("no complete run of %s: %s", e.Name, strings.Join(skipped, ", "))
	}
	return "", "", fmt.Errorf("no run of %s found (looked in results/runs/%s here and beside %s); run it, or name one with --from DIR", e.Name, e.Name, e.File)
}

// runsOf lists the run directories of e, newest first: under results/runs/<name> of the
// working directory, else of the checkout the spec is in (its directory's parent).
func runsOf(e *spec.Experiment) ([]string, error) {
	for _, base := range []string{".", filepath.Dir(e.Dir)} {
		root := filepath.Join(base, "results", "runs", e.Name)
		ents, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		var dirs []string
		for _, d := range ents {
			if d.IsDir() {
				dirs = append(dirs, filepath.Join(root, d.Name()))
			}
		}
		slices.Reverse(dirs) // named by their start time
		if len(dirs) > 0 {
			return dirs, nil
		}
	}
	return nil, nil
}

// incomplete says why a run is not a complete one, or "".
func incomplete(r *results.Run) string {
	switch {
	case r.Meta == nil:
		return "no run.json"
	case r.Meta.End.IsZero():
		return "not finished"
	case r.Meta.Only != "":
		return "only " + r.Meta.Only
	case len(r.Skipped) > 0:
		return "unreadable cells"
	}
	if s, err := spec.Load(filepath.Join(r.Dir, "spec.yaml")); err == nil {
		if cells, err := plan.Cells(s); err == nil && len(cells) > len(r.Cells) {
			return fmt.Sprintf("%d of %d cells", len(r.Cells), len(cells))
		}
	}
	return ""
}

// prefixed writes each line with a prefix, so that vmfsbench's own lines stand apart from
// the command's on a shared stderr.
type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool // within a line
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if !p.mid {
			out = append(out, p.prefix...)
		}
		out = append(out, c)
		p.mid = c != '\n'
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
