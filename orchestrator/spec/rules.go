package spec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// checkSynthetic reports whether the generator can make the tree.
func checkSynthetic(s *Synthetic) error {
	if err := s.Tree().Validate(); err != nil {
		return err
	}
	if s.LitTests > 0 {
		return synthetic.LitOptions{Tests: s.LitTests, Seed: s.Seed}.Validate()
	}
	return nil
}

// checkRule reports whether one exclusion rule is valid gitignore syntax.
func checkRule(r string) error {
	_, err := tree.NewMatcher([]string{r})
	return err
}

// MaxCells is the most cells a spec's matrix may have. The matrix is counted, never expanded,
// before the cap is checked.
const MaxCells = 100_000

// MaxNameLen is the longest spec name: a directory name (NAME_MAX, 255 bytes) with room for
// the suffix a second run of the same second gets (-2 ... -99).
const MaxNameLen = 255 - 3

// agentFiles are the files the base initramfs puts in the guest's root (the agent as /init,
// busybox when the host has it): the tree cannot be mounted on them.
var agentFiles = []string{"/init", "/bin/busybox"}

// initramfsFiles are the guest files of the initramfs: the agent's and guest.files'.
func initramfsFiles(e *Experiment) []string {
	out := slices.Clone(agentFiles)
	for g := range e.Guest.Files {
		out = append(out, path.Clean("/"+g))
	}
	slices.Sort(out)
	return out
}

// initramfsFileWhy says what f of initramfsFiles is.
func initramfsFileWhy(f string) string {
	switch f {
	case "/init":
		return "the guest agent"
	case "/bin/busybox":
		return "busybox"
	}
	return "guest.files"
}

// reservedGuestDirs are guest directories the agent owns: the tree cannot be mounted on or
// below them.
var reservedGuestDirs = []string{"/proc", "/sys", "/dev", "/vmfsbench"}

// runnable refuses, after decoding, what decodes but cannot run: a tree path that exists
// and is not a directory (a symlinked one is resolved here, once, and the resolved path is
// the one everything uses), an empty program or argument in workload.command, a mountpoint
// the agent owns, and a matrix over MaxCells. A tree path that does not exist is no error
// here: a checked-in spec names a tree of its author's machine; `run` and `digest` refuse it.
func (d *decoder) runnable(root *yaml.Node, e *Experiment) {
	if e.Tree.Path != "" {
		d.resolveTree(nodeAt(root, "tree", "path"), &e.Tree)
	}
	commands := map[string]*yaml.Node{"workload.command": nodeAt(root, "workload", "command")}
	for _, sc := range e.Workload.Scales {
		commands["workload.scales."+sc.Name+".command"] = nodeAt(root, "workload", "scales", sc.Name, "command")
	}
	for field, cmd := range commands {
		if cmd == nil || cmd.Kind != yaml.SequenceNode {
			continue
		}
		for i, a := range cmd.Content {
			a = resolve(a)
			if a.Kind != yaml.ScalarNode || a.Value != "" {
				continue
			}
			f := fmt.Sprintf("%s[%d]", field, i)
			if i == 0 {
				d.fail(a, f, "the program to run is empty; expected a path such as /bin/sh")
			} else {
				d.fail(a, f, "an empty argument; give each argument as a non-empty string")
			}
		}
	}
	if mp := e.Guest.Mountpoint; mp != "" {
		for _, f := range initramfsFiles(e) {
			if mp == f || strings.HasPrefix(mp, f+"/") {
				d.fail(nodeAt(root, "guest", "mountpoint"), "guest.mountpoint",
					"%s is a file of the guest's initramfs (%s), not a directory the tree can be mounted on; choose another directory such as %s", f, initramfsFileWhy(f), DefaultMountpoint)
			}
		}
		for _, r := range reservedGuestDirs {
			if mp == r || strings.HasPrefix(mp, r+"/") {
				d.fail(nodeAt(root, "guest", "mountpoint"), "guest.mountpoint",
					"%s is under %s, which the guest's agent uses; choose another directory such as %s", mp, r, DefaultMountpoint)
			}
		}
	}
	d.countCells(nodeAt(root, "methods"), e)
}

// resolveTree checks an existing tree path and replaces it with its resolved form.
func (d *decoder) resolveTree(n *yaml.Node, t *Tree) {
	if _, err := os.Lstat(t.Path); err != nil {
		return // absent: `run` and `digest` say so
	}
	real, err := filepath.EvalSymlinks(t.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return // a link to nothing: absent as well
		}
		d.fail(n, "tree.path", "%v", err)
		return
	}
	fi, err := os.Stat(real)
	switch {
	case err != nil:
		d.fail(n, "tree.path", "%v", err)
	case !fi.IsDir():
		what := t.Path
		if real != t.Path {
			what += " (a symlink to " + real + ")"
		}
		d.fail(n, "tree.path", "%s is not a directory; the tree must be one", what)
	default:
		t.Path = real
		if cache, inside := cacheInside(real); inside {
			d.fail(n, "tree.path", "%s holds vmfsbench's own cache directory %s, which a run writes (kernels, initramfs "+
				"archives, agents): the tree would change under the benchmark; choose a tree that does not hold it, or "+
				"move the cache out of the tree with XDG_CACHE_HOME", real, cache)
		}
	}
}

// cacheInside returns vmfsbench's cache directory (kernel.CacheDir, resolved through symlinks
// as far as it exists) and whether it is the tree or lies inside it.
func cacheInside(tree string) (string, bool) {
	cache, err := kernel.CacheDir()
	if err != nil {
		return "", false
	}
	resolved, rest := cache, ""
	for {
		if r, err := filepath.EvalSymlinks(resolved); err == nil {
			resolved = filepath.Join(r, rest)
			break
		}
		parent := filepath.Dir(resolved)
		if parent == resolved {
			resolved = cache
			break
		}
		rest = filepath.Join(filepath.Base(resolved), rest)
		resolved = parent
	}
	rel, err := filepath.Rel(tree, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return cache, false
	}
	return cache, true
}

// countCells refuses a matrix of more than MaxCells cells: each method's variants (the
// product of its parameters' value counts) times the cache states times the repetitions,
// counted in big integers, so no sweep is expanded and nothing overflows.
func (d *decoder) countCells(n *yaml.Node, e *Experiment) {
	total := new(big.Int)
	for _, m := range e.Methods {
		v := big.NewInt(1)
		for _, p := range m.Params {
			v.Mul(v, big.NewInt(int64(max(1, len(p.Values)))))
		}
		total.Add(total, v)
	}
	caches := len(e.Cache)
	if caches == 0 {
		caches = len(DefaultCache)
	}
	reps := max(e.Repetitions, DefaultRepetitions)
	total.Mul(total, big.NewInt(int64(caches)))
	total.Mul(total, big.NewInt(int64(reps)))
	if total.Cmp(big.NewInt(MaxCells)) > 0 {
		d.fail(n, "methods", "the matrix has %s cells (%d method entries with their sweeps x %d cache states x %d repetitions), more than the %s a spec may have; sweep fewer values or run fewer repetitions",
			groupDigits(total.String()), len(e.Methods), caches, reps, groupDigits(fmt.Sprint(MaxCells)))
	}
}

// groupDigits writes a decimal number with thousands separators: 1234567 -> 1,234,567.
func groupDigits(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// nodeAt follows mapping keys from n and returns the value found, or nil.
func nodeAt(n *yaml.Node, keys ...string) *yaml.Node {
	n = resolve(n)
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = resolve(n.Content[i+1])
			}
		}
		n = next
	}
	return n
}

// Warnings are what Load accepts but a user likely did not mean, each as
// `file:line:col: field: message`; today, exclusion rules that leave no file of an existing
// tree (found by a walk that stops at the first file kept).
func Warnings(e *Experiment) []string {
	if e.Tree.Path == "" || len(e.Tree.Exclude) == 0 {
		return nil
	}
	if fi, err := os.Stat(e.Tree.Path); err != nil || !fi.IsDir() {
		return nil
	}
	m, err := tree.NewMatcher(e.Tree.Exclude)
	if err != nil {
		return nil
	}
	kept := false
	err = tree.Walk(context.Background(), e.Tree.Path, m, func(en tree.Entry) error {
		if !en.Mode.IsDir() {
			kept = true
			return fs.SkipAll
		}
		return nil
	})
	if err != nil || kept {
		return nil
	}
	p := Pos{1, 1}
	if len(e.Tree.ExcludePos) > 0 {
		p = e.Tree.ExcludePos[0]
	}
	fe := FieldError{File: e.File, Line: p.Line, Column: p.Column, Field: "tree.exclude",
		Msg: fmt.Sprintf("warning: the rules leave no file of %s; the benchmark would read an empty tree", e.Tree.Path)}
	return []string{fe.Error()}
}
