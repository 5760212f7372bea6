package spec

import (
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"

	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"
)

// Load reads, validates and defaults the spec at file. The error, when not nil, is a
// *multierror.Error holding every *FieldError of the file, in line order.
func Load(file string) (*Experiment, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(file, data)
}

// Parse is Load on bytes already read; file names the source in errors and anchors relative
// paths.
func Parse(file string, data []byte) (*Experiment, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", file, err)
	}
	d := &decoder{file: file, dir: filepath.Dir(abs)}
	e := &Experiment{File: file, Dir: d.dir}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.failAt(Pos{1, 1}, "", "the spec is empty; expected a mapping with version, name, tree, methods")
		} else {
			d.syntax(err)
		}
		return nil, d.result()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.fail(&extra, "", "a spec file holds one YAML document; found a second")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d.experiment(root, e)
	d.runnable(root, e)
	if err := d.result(); err != nil {
		return nil, err
	}
	applyDefaults(e)
	return e, nil
}

// decoder walks yaml nodes, collecting every error instead of stopping at the first.
type decoder struct {
	file string
	dir  string
	errs []*FieldError
}

func (d *decoder) failAt(p Pos, field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: p.Line, Column: p.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	d.failAt(posOf(n), field, format, args...)
}

var yamlLine = regexp.MustCompile(`line (\d+)(?::(\d+))?`)

// syntax turns a yaml.v3 parse error into FieldErrors, keeping its line numbers.
func (d *decoder) syntax(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		p := Pos{1, 1}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			if sm[2] != "" {
				p.Column, _ = strconv.Atoi(sm[2])
			}
		}
		d.failAt(p, "", "invalid YAML: %s", m)
	}
}

func (d *decoder) result() error {
	if len(d.errs) == 0 {
		return nil
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	var m *multierror.Error
	for _, e := range d.errs {
		m = multierror.Append(m, e)
	}
	m.ErrorFormat = func(es []error) string {
		s := make([]string, len(es))
		for i, e := range es {
			s[i] = e.Error()
		}
		return strings.Join(s, "\n")
	}
	return m.ErrorOrNil()
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		}
		return fmt.Sprintf("%s %s", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "something else"
}

type fieldFn func(v *yaml.Node, field string)

// fields walks the mapping n, calling the handler of each known key in document order.
// Unknown and repeated keys are errors; required keys that are missing too.
func (d *decoder) fields(n *yaml.Node, field string, required []string, handlers map[string]fieldFn) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "expected a mapping, got %s", kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		f := join(field, k.Value)
		h, ok := handlers[k.Value]
		switch {
		case !ok:
			known := make([]string, 0, len(handlers))
			for name := range handlers {
				known = append(known, name)
			}
			sort.Strings(known)
			d.fail(k, f, "unknown field; expected one of %s", strings.Join(known, ", "))
		case seen[k.Value]:
			d.fail(k, f, "field given twice")
		default:
			seen[k.Value] = true
			h(v, f)
		}
	}
	for _, r := range required {
		if !seen[r] {
			d.fail(n, join(field, r), "required field is missing")
		}
	}
	return true
}

func (d *decoder) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		d.fail(n, field, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) enum(n *yaml.Node, field string, allowed ...string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	d.fail(n, field, "unknown value %q, expected one of %s", s, strings.Join(allowed, ", "))
	return "", false
}

func (d *decoder) integer(n *yaml.Node, field string, min, max int64) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.fail(n, field, "expected a whole number, got %s", kindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil || v < min || v > max {
		d.fail(n, field, "%s is out of range, expected %d..%d", n.Value, min, max)
		return 0, false
	}
	return v, true
}

func (d *decoder) size(n *yaml.Node, field string, min int64) (int64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
		d.fail(n, field, "expected a size such as 2GiB or 512000, got %s", kindName(n))
		return 0, false
	}
	v, err := param.ParseSize(n.Value)
	if err != nil {
		d.fail(n, field, "%v", err)
		return 0, false
	}
	if v < min {
		d.fail(n, field, "%s is too small, expected at least %s", n.Value, param.FormatSize(min))
		return 0, false
	}
	return v, true
}

func (d *decoder) strList(n *yaml.Node, field string) ([]string, []Pos, bool) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "expected a list of strings, got %s", kindName(n))
		return nil, nil, false
	}
	var out []string
	var pos []Pos
	ok := true
	for i, c := range n.Content {
		s, good := d.str(resolve(c), fmt.Sprintf("%s[%d]", field, i))
		ok = ok && good
		out = append(out, s)
		pos = append(pos, posOf(c))
	}
	return out, pos, ok
}

// hostPath expands `~` and makes a relative path relative to the spec's directory.
func (d *decoder) hostPath(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if s == "" {
		d.fail(n, field, "expected a path, got an empty string")
		return "", false
	}
	if s == "~" || strings.HasPrefix(s, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			d.fail(n, field, "cannot expand ~: %v", err)
			return "", false
		}
		s = filepath.Join(home, s[1:])
	} else if strings.HasPrefix(s, "~") {
		d.fail(n, field, "~user paths are not supported; write the full path")
		return "", false
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(d.dir, s)
	}
	return filepath.Clean(s), true
}

func (d *decoder) guestPath(n *yaml.Node, field string) (string, bool) {
	s, ok := d.str(n, field)
	if !ok {
		return "", false
	}
	if !path.IsAbs(s) || path.Clean(s) == "/" {
		d.fail(n, field, "expected an absolute guest path below /, got %q", s)
		return "", false
	}
	return path.Clean(s), true
}

func (d *decoder) owner(n *yaml.Node, field string) *Owner {
	var o Owner
	d.fields(n, field, []string{"uid", "gid"}, map[string]fieldFn{
		"uid": func(v *yaml.Node, f string) { x, _ := d.integer(v, f, 0, 1<<32-2); o.UID = int(x) },
		"gid": func(v *yaml.Node, f string) { x, _ := d.integer(v, f, 0, 1<<32-2); o.GID = int(x) },
	})
	return &o
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (d *decoder) experiment(n *yaml.Node, e *Experiment) {
	d.fields(n, "", []string{"version", "name", "tree", "methods"}, map[string]fieldFn{
		"version": func(v *yaml.Node, f string) {
			if x, ok := d.integer(v, f, 1, 1); ok {
				e.Version = int(x)
			}
		},
		"name": func(v *yaml.Node, f string) {
			if s, ok := d.str(v, f); ok {
				if !nameRE.MatchString(s) {
					d.fail(v, f, "%q is not a valid name: use letters, digits, '.', '_' and '-' (it names the results directory)", s)
				} else if len(s) > MaxNameLen {
					d.fail(v, f, "a name of %d bytes is too long for the results directory it names (at most %d)", len(s), MaxNameLen)
				}
				e.Name = s
			}
		},
		"description": func(v *yaml.Node, f string) { e.Description, _ = d.str(v, f) },
		"tree":        func(v *yaml.Node, f string) { d.tree(v, f, &e.Tree) },
		"guest":       func(v *yaml.Node, f string) { d.guest(v, f, &e.Guest) },
		"qemu":        func(v *yaml.Node, f string) { d.qemu(v, f, &e.QEMU) },
		"workload":    func(v *yaml.Node, f string) { d.workload(v, f, &e.Workload) },
		"cache": func(v *yaml.Node, f string) {
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				d.fail(v, f, "expected a non-empty list of cache states (empty, warm, asis), got %s", kindName(v))
				return
			}
			seen := map[string]bool{}
			for i, c := range v.Content {
				fi := fmt.Sprintf("%s[%d]", f, i)
				if s, ok := d.enum(resolve(c), fi, "empty", "warm", "asis"); ok {
					if seen[s] {
						d.fail(c, fi, "cache state %q listed twice", s)
					}
					seen[s] = true
					e.Cache = append(e.Cache, s)
				}
			}
		},
		"repetitions": func(v *yaml.Node, f string) {
			x, _ := d.integer(v, f, 1, 1000)
			e.Repetitions = int(x)
		},
		"order":     func(v *yaml.Node, f string) { e.Order, _ = d.enum(v, f, "interleaved", "grouped") },
		"methods":   func(v *yaml.Node, f string) { d.methods(v, f, e) },
		"reference": func(v *yaml.Node, f string) { e.Reference, _ = d.hostPath(v, f) },
	})
}

func (d *decoder) tree(n *yaml.Node, field string, t *Tree) {
	var pathNode, synthNode *yaml.Node
	ok := d.fields(n, field, nil, map[string]fieldFn{
		"path": func(v *yaml.Node, f string) { pathNode = v; t.Path, _ = d.hostPath(v, f) },
		"synthetic": func(v *yaml.Node, f string) {
			synthNode = v
			s := &Synthetic{Seed: 1, Scale: 1}
			d.fields(v, f, []string{"files", "bytes"}, map[string]fieldFn{
				"files":     func(v *yaml.Node, f string) { x, _ := d.integer(v, f, 1, 100_000_000); s.Files = int(x) },
				"bytes":     func(v *yaml.Node, f string) { s.Bytes, _ = d.size(v, f, 0) },
				"seed":      func(v *yaml.Node, f string) { s.Seed, _ = d.integer(v, f, -1<<63, 1<<63-1) },
				"lit_tests": func(v *yaml.Node, f string) { x, _ := d.integer(v, f, 0, 1_000_000); s.LitTests = int(x) },
				"scale":     func(v *yaml.Node, f string) { x, _ := d.integer(v, f, 1, 1000); s.Scale = int(x) },
			})
			if s.Scale > 1 {
				s.Files *= s.Scale
				s.Bytes *= int64(s.Scale)
				s.LitTests *= s.Scale
			}
			if s.Files > 0 && s.Bytes > 0 {
				if err := checkSynthetic(s); err != nil {
					d.fail(v, f, "%v", err)
				}
			}
			t.Synthetic = s
		},
		"exclude": func(v *yaml.Node, f string) {
			rules, pos, ok := d.strList(v, f)
			if !ok {
				return
			}
			for i, r := range rules {
				if err := checkRule(r); err != nil {
					d.failAt(pos[i], fmt.Sprintf("%s[%d]", f, i), "%v", err)
				}
			}
			t.Exclude, t.ExcludePos = rules, pos
		},
		"owner": func(v *yaml.Node, f string) { t.Owner = d.owner(v, f) },
	})
	if !ok {
		return
	}
	switch {
	case pathNode != nil && synthNode != nil:
		d.fail(synthNode, join(field, "synthetic"), "give either tree.path or tree.synthetic, not both")
	case pathNode == nil && synthNode == nil:
		d.fail(n, join(field, "path"), "required field is missing (or give tree.synthetic)")
	}
}

func (d *decoder) guest(n *yaml.Node, field string, g *Guest) {
	d.fields(n, field, nil, map[string]fieldFn{
		"arch":    func(v *yaml.Node, f string) { g.Arch, _ = d.enum(v, f, arch.Names()...) },
		"kernel":  func(v *yaml.Node, f string) { g.Kernel, _ = d.hostPath(v, f) },
		"modules": func(v *yaml.Node, f string) { g.Modules, _ = d.hostPath(v, f) },
		"rootfs": func(v *yaml.Node, f string) {
			if v.Kind == yaml.ScalarNode && v.Value == RootfsBuilt {
				g.Rootfs = RootfsBuilt
				return
			}
			g.Rootfs, _ = d.hostPath(v, f)
		},
		"mountpoint": func(v *yaml.Node, f string) { g.Mountpoint, _ = d.guestPath(v, f) },
		"user":       func(v *yaml.Node, f string) { g.User = d.owner(v, f) },
		"files": func(v *yaml.Node, f string) {
			if v.Kind != yaml.MappingNode {
				d.fail(v, f, "expected a mapping of guest path to host path, got %s", kindName(v))
				return
			}
			g.Files = map[string]string{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], resolve(v.Content[i+1])
				fk := join(f, k.Value)
				gp, ok1 := d.guestPath(k, fk)
				hp, ok2 := d.hostPath(val, fk)
				if _, dup := g.Files[gp]; dup {
					d.fail(k, fk, "guest path given twice")
				}
				if ok1 && ok2 {
					g.Files[gp] = hp
				}
			}
		},
	})
	if g.Kernel != "" && g.Modules == "" {
		d.fail(n, join(field, "modules"), "required when guest.kernel is given: the kernel's lib/modules/<version> directory")
	}
}

func (d *decoder) qemu(n *yaml.Node, field string, q *QEMU) {
	d.fields(n, field, nil, map[string]fieldFn{
		"binary":  func(v *yaml.Node, f string) { q.Binary, _ = d.str(v, f) },
		"machine": func(v *yaml.Node, f string) { q.Machine, _ = d.str(v, f) },
		"cpus":    func(v *yaml.Node, f string) { x, _ := d.integer(v, f, 1, 1024); q.CPUs = int(x) },
		"memory":  func(v *yaml.Node, f string) { q.Memory, _ = d.size(v, f, 128<<20) },
		"accel":   func(v *yaml.Node, f string) { q.Accel, _ = d.enum(v, f, "auto", "kvm", "tcg") },
		"args": func(v *yaml.Node, f string) {
			var pos []Pos
			q.Args, pos, _ = d.strList(v, f)
			for i, a := range q.Args {
				if a == "-m" || a == "--m" || strings.HasPrefix(a, "-m=") || strings.HasPrefix(a, "--m=") {
					d.failAt(pos[i], fmt.Sprintf("%s[%d]", f, i), "%s would override qemu.memory, which vmfsbench sizes the guest's devices by "+
						"(pmem's memory slots, virtiofs' shared memory, the tmpfs a stream fills): set qemu.memory instead", a)
				}
			}
		},
		"boot_timeout": func(v *yaml.Node, f string) {
			q.BootTimeout, _ = d.duration(v, f)
		},
	})
}

func (d *decoder) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
		d.fail(n, field, "expected a duration such as 90s, 30m or 2h, got %s", kindName(n))
		return 0, false
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		d.fail(n, field, "%v", err)
		return 0, false
	}
	return v, true
}

func (d *decoder) workload(n *yaml.Node, field string, w *Workload) {
	var builtin, command, scale, scales *yaml.Node
	d.fields(n, field, nil, map[string]fieldFn{
		"scale": func(v *yaml.Node, f string) { scale = v; w.Scale, _ = d.str(v, f) },
		"scales": func(v *yaml.Node, f string) {
			scales = v
			if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				d.fail(v, f, "expected a mapping of scale name to {command, timeout}, got %s", kindName(v))
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, sv := v.Content[i], v.Content[i+1]
				fs := join(f, k.Value)
				sc := Scale{Name: k.Value}
				if k.Value == "" || strings.ContainsAny(k.Value, " \t/") {
					d.fail(k, fs, "expected a scale name without blanks or slashes, got %q", k.Value)
				}
				d.fields(sv, fs, nil, map[string]fieldFn{
					"command": func(v *yaml.Node, f string) {
						sc.Command, _, _ = d.strList(v, f)
						if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
							d.fail(v, f, "expected a non-empty argv list")
						}
					},
					"timeout": func(v *yaml.Node, f string) { sc.Timeout, _ = d.duration(v, f) },
				})
				w.Scales = append(w.Scales, sc)
			}
		},
		"builtin": func(v *yaml.Node, f string) { builtin = v; w.Builtin, _ = d.enum(v, f, "read-all", "stat-all") },
		"command": func(v *yaml.Node, f string) {
			command = v
			w.Command, _, _ = d.strList(v, f)
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.fail(v, f, "expected a non-empty argv list")
			}
		},
		"cwd": func(v *yaml.Node, f string) {
			s, ok := d.str(v, f)
			if ok && (path.IsAbs(s) || path.Clean(s) == ".." || strings.HasPrefix(path.Clean(s), "../")) {
				d.fail(v, f, "expected a path relative to guest.mountpoint and inside it, got %q", s)
				return
			}
			w.Cwd = s
		},
		"env": func(v *yaml.Node, f string) {
			if v.Kind != yaml.MappingNode {
				d.fail(v, f, "expected a mapping of variable to value, got %s", kindName(v))
				return
			}
			w.Env = map[string]string{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], resolve(v.Content[i+1])
				fk := join(f, k.Value)
				if k.Value == "" || strings.ContainsAny(k.Value, "=\x00") {
					d.fail(k, fk, "invalid environment variable name %q", k.Value)
					continue
				}
				if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
					d.fail(val, fk, "expected a scalar value, got %s", kindName(val))
					continue
				}
				w.Env[k.Value] = val.Value
			}
		},
		"timeout":    func(v *yaml.Node, f string) { w.Timeout, _ = d.duration(v, f) },
		"output_cap": func(v *yaml.Node, f string) { w.OutputCap, _ = d.size(v, f, MinOutputCap) },
	})
	if builtin != nil && command != nil {
		d.fail(command, join(field, "command"), "give either workload.builtin or workload.command, not both")
	}
	d.applyScale(field, scale, scales, builtin, w)
	if builtin != nil && w.Cwd != "" {
		d.fail(n, join(field, "cwd"), "only used with workload.command")
	}
}

// applyScale makes the chosen scale's command and timeout the workload's: workload.scale, or
// the first of workload.scales.
func (d *decoder) applyScale(field string, scale, scales, builtin *yaml.Node, w *Workload) {
	if scales == nil {
		if scale != nil {
			d.fail(scale, join(field, "scale"), "no workload.scales to choose from")
		}
		return
	}
	if len(w.Scales) == 0 {
		return
	}
	var names []string
	for _, sc := range w.Scales {
		names = append(names, sc.Name)
	}
	if w.Scale == "" {
		w.Scale = names[0]
	}
	i := slices.Index(names, w.Scale)
	if i < 0 {
		if scale != nil {
			d.fail(scale, join(field, "scale"), "unknown scale %q, expected one of %s", w.Scale, strings.Join(names, ", "))
		}
		return
	}
	sc := w.Scales[i]
	if builtin != nil && len(sc.Command) > 0 {
		d.fail(scales, join(join(join(field, "scales"), sc.Name), "command"), "give either workload.builtin or a command, not both")
	}
	if len(sc.Command) > 0 {
		w.Command = sc.Command
	}
	if sc.Timeout > 0 {
		w.Timeout = sc.Timeout
	}
}

func (d *decoder) methods(n *yaml.Node, field string, e *Experiment) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.fail(n, field, "expected a non-empty list such as `- 9p: {msize: 512000}`, got %s", kindName(n))
		return
	}
	for i, item := range n.Content {
		item = resolve(item)
		fi := fmt.Sprintf("%s[%d]", field, i)
		if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
			d.fail(item, fi, "expected a mapping with one method name (%s), got %s",
				strings.Join(method.Names(), ", "), kindName(item))
			continue
		}
		k, v := item.Content[0], resolve(item.Content[1])
		meth, err := method.Lookup(k.Value)
		fm := join(fi, k.Value)
		if err != nil {
			d.fail(k, fi, "unknown method %q, expected one of %s", k.Value, strings.Join(method.Names(), ", "))
			continue
		}
		defs := meth.Params()
		m := MethodEntry{Method: k.Value, Pos: posOf(k)}
		given := map[string]*yaml.Node{}
		if !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
			handlers := map[string]fieldFn{}
			for _, def := range defs {
				handlers[def.Name] = func(v *yaml.Node, f string) { given[def.Name] = v }
			}
			if !d.fields(v, fm, nil, handlers) {
				continue
			}
		}
		for _, def := range defs {
			p := Param{Def: def, Values: []any{def.Default}, Pos: m.Pos}
			if v := given[def.Name]; v != nil {
				p.Given, p.Pos, p.Values = true, posOf(v), d.paramValues(v, join(fm, def.Name), def)
			}
			m.Params = append(m.Params, p)
		}
		e.Methods = append(e.Methods, m)
	}
}

// paramValues reads one value or a list of values (a sweep) of a method parameter.
func (d *decoder) paramValues(n *yaml.Node, field string, def param.Def) []any {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			d.fail(n, field, "an empty list sweeps nothing; give at least one value")
			return nil
		}
		items = n.Content
	}
	var out []any
	seen := map[string]bool{}
	for _, c := range items {
		c = resolve(c)
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			d.fail(c, field, "expected a value or a list of values, got %s", kindName(c))
			continue
		}
		v, err := def.Parse(c.Value)
		if err != nil {
			d.fail(c, field, "%v", err)
			continue
		}
		if key := def.FormatValue(v); seen[key] {
			d.fail(c, field, "value %s listed twice", key)
			continue
		} else {
			seen[key] = true
		}
		out = append(out, v)
	}
	return out
}
