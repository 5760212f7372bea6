package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// imageMethods are the methods whose build step is measured: those that say what their build
// would be by hand, uncompressed where they compress, so that the build's own work is
// measured and not the compressor's.
func imageMethods() []struct{ name, params string } {
	var out []struct{ name, params string }
	for _, name := range method.Names() {
		m, _ := method.Lookup(name)
		if _, ok := m.(method.HandBuilder); !ok {
			continue
		}
		params := "{}"
		if slices.ContainsFunc(m.Params(), func(d param.Def) bool { return d.Name == "compression" }) {
			params = "{compression: none}"
		}
		out = append(out, struct{ name, params string }{name, params})
	}
	return out
}

// benchSpec is the spec of the real run, and of the image builds' cells: the synthetic tree
// with the seed study's exclusions and owner, every image and stream method, a stat-all
// workload, the host cache as it is.
func benchSpec(o options) string {
	var methods strings.Builder
	for _, m := range imageMethods() {
		fmt.Fprintf(&methods, "  - %s: %s\n", m.name, m.params)
	}
	methods.WriteString("  - serial-tar: {}\n  - ssh-tar: {}\n")
	return fmt.Sprintf(`version: 1
name: vmfsbench-bench
description: vmfsbench-bench's real run (orchestrator overhead, transfers).
tree:
  synthetic: {files: %d, bytes: %dMiB, seed: 1}
  exclude: [%s]
  owner: {uid: %d, gid: %d}
guest:
  arch: x86_64
  mountpoint: /root/llvm-project
qemu: {cpus: 2, memory: 2GiB, accel: %s}
workload: {builtin: stat-all, timeout: 10m}
cache: [asis]
repetitions: 1
methods:
%s`, o.files, o.mib, quoteList(excludeRules), benchOwner.UID, benchOwner.GID, o.accel, methods.String())
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// imageFigures times each image method's build step, run as `vmfsbench run` runs it, against
// the same tool with the same options on the filtered copy (no exclusions, owners already
// set): what someone would run by hand after preparing the tree.
func (b *bench) imageFigures(ctx context.Context) ([]figure, error) {
	file := filepath.Join(b.scratch, "images.yaml")
	if err := os.WriteFile(file, []byte(benchSpec(b.o)), 0o644); err != nil {
		return nil, err
	}
	e, err := spec.Load(file)
	if err != nil {
		return nil, err
	}
	dirs := plan.Dirs{Run: filepath.Join(b.scratch, "images"), Sockets: filepath.Join(b.scratch, "sockets"), HostPort: func() int { return plan.PlanHostPort }}
	h := b.host(ctx, e)
	cells, err := plan.Expand(e, h, dirs, plan.Choices{})
	if err != nil {
		return nil, err
	}
	var figs []figure
	for _, im := range imageMethods() {
		var c *plan.Cell
		for i := range cells {
			if cells[i].Method == im.name {
				c = &cells[i]
			}
		}
		if c == nil {
			return nil, fmt.Errorf("no %s cell in the bench spec", im.name)
		}
		f, err := b.imageFigure(ctx, e, h, *c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", im.name, err)
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// unbooted stands in for the guest kernel in the plan of the image builds' cells: only
// their build steps run, so no kernel is looked for.
const unbooted = "<no kernel: only the build step runs>"

// host is what `vmfsbench run`'s host probe finds for e, from the tree's walks done once by
// newBench (its top-most excluded paths and its size) and the host tools of e's methods.
func (b *bench) host(ctx context.Context, e *spec.Experiment) plan.Host {
	cache, _ := kernel.CacheDir()
	return plan.Host{Tree: b.root, Hidden: b.hidden, Size: b.size, Kernel: unbooted, Tools: probe.Tools(ctx, cache, e), CanMount: method.CanMount()}
}

// buildCommand is the command of a build step that makes the image: the first one (ext4's
// second, debugfs, only touches up the image's root directory).
func buildCommand(s method.Step) []string {
	if len(s.Commands) == 0 {
		return nil
	}
	return s.Commands[0]
}

func (b *bench) imageFigure(ctx context.Context, e *spec.Experiment, h plan.Host, c plan.Cell) (figure, error) {
	var steps []method.Step
	for _, s := range c.Steps {
		if s.Kind == method.StepBuildImage {
			steps = append(steps, s)
		}
	}
	if len(steps) != 1 {
		return figure{}, fmt.Errorf("%d build steps, want 1", len(steps))
	}
	raw, err := handCommand(e, h, c, b.copy)
	if err != nil {
		return figure{}, err
	}
	var log bytes.Buffer
	ours := func() (sample, error) {
		if err := os.MkdirAll(c.Work, 0o755); err != nil {
			return sample{}, err
		}
		defer os.RemoveAll(c.Work)
		log.Reset()
		unix.Sync()
		var undo func()
		s, err := timeFunc(func() error {
			var err error
			undo, err = runStep(ctx, steps[0], method.Env{Log: &method.Log{W: &log}, Matcher: b.m})
			return err
		})
		if undo != nil {
			undo()
		}
		if err != nil {
			return s, fmt.Errorf("%w\n%s", err, lastLines(log.String(), 10))
		}
		return s, nil
	}
	ref := func() (sample, error) {
		if err := os.MkdirAll(c.Work, 0o755); err != nil {
			return sample{}, err
		}
		defer os.RemoveAll(c.Work)
		unix.Sync()
		var out []byte
		s, err := timeFunc(func() error {
			var err error
			out, err = exec.CommandContext(ctx, raw[0], raw[1:]...).CombinedOutput()
			return err
		})
		if err != nil {
			return s, fmt.Errorf("%s: %w: %s", strings.Join(raw, " "), err, lastLines(string(out), 5))
		}
		return s, nil
	}
	o, r, err := b.pair(ctx, b.o.runs, ours, ref, b.root, b.copy)
	if err != nil {
		return figure{}, err
	}
	mine, theirs := statsOf(o), statsOf(r)
	ow, rw := mine.best, theirs.best
	name := c.Method + " image build vs `" + filepath.Base(raw[0]) + "` by hand"
	if route := ext4Route(log.String()); route != "" {
		name = fmt.Sprintf("ext4 image build (route %s, e2fsprogs %s) vs `mkfs.ext4 -d` by hand", route, b.machine.tool("e2fsprogs"))
	}
	f := figure{name: name, ours: mine.String(), ref: theirs.String(), ratio: ratio(ow / rw), goal: goalAtMost1, met: verdictOf(ow <= rw)}
	if f.met == missed {
		f.note = fmt.Sprintf("missed by %s (%.0f %%) in the best of %d runs; CPU time %s against %s. %s",
			secs(ow-rw), (ow/rw-1)*100, b.o.runs, secs(mine.cpu), secs(theirs.cpu), beyondHand(c.Method))
	}
	return f, nil
}

// runStep runs a host step as the runner does: its Go code when it has some, else its
// commands. It returns what to undo once the step's time is taken (nil for nothing).
func runStep(ctx context.Context, s method.Step, env method.Env) (undo func(), err error) {
	if s.Run == nil {
		return nil, method.RunCommands(ctx, env, s.Commands)
	}
	return s.Run(ctx, env)
}

// beyondHand says what the method's build does that the command by hand does not.
func beyondHand(name string) string {
	if m, err := method.Lookup(name); err == nil {
		if hb, ok := m.(method.HandBuilder); ok {
			return hb.BeyondHand()
		}
	}
	return ""
}

// handCommand is the command that builds cell c's image by hand from src, a filtered copy of
// the tree, as the cell's method says (method.HandBuilder).
func handCommand(e *spec.Experiment, h plan.Host, c plan.Cell, src string) ([]string, error) {
	m, err := method.Lookup(c.Method)
	if err != nil {
		return nil, err
	}
	hb, ok := m.(method.HandBuilder)
	if !ok {
		return nil, fmt.Errorf("method %s has no build to run by hand", c.Method)
	}
	return hb.HandBuild(plan.MethodConfig(e, &c, h), src)
}

var routeRE = regexp.MustCompile(`ext4: route ([a-z-]+)`)

// ext4Route is the route an ext4 build's log names.
func ext4Route(log string) string {
	if m := routeRE.FindStringSubmatch(log); m != nil {
		return m[1]
	}
	return ""
}

// tool returns the version of a tool named in the machine's description.
func (m machine) tool(name string) string {
	for _, t := range m.tools {
		if v, ok := strings.CutPrefix(t, name+" "); ok {
			return v
		}
	}
	return "?"
}
