package plan

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// ExecRequest is what `vmfsbench exec` asks of a spec: one guest of it, with the tree carried
// by one of its methods and a command in place of its workload.
type ExecRequest struct {
	// Method names the method entry: a method's name (its first entry in the spec) or a
	// variant as cell IDs name it ("9p.msize=512000.cache=loose"); "" is the first entry.
	Method string
	// Command is run in the guest in place of the workload.
	Command []string
	// Cwd is the command's directory relative to the mountpoint; "" keeps the workload's.
	Cwd string
}

// ForExec narrows e to the one cell `vmfsbench exec` runs: the named method entry with the
// first value of each swept parameter (or the values the named variant gives), the host
// page cache left as it is, one repetition, and the workload replaced by the request's
// command. The result is planned and run like any experiment; e is not changed.
func ForExec(e *spec.Experiment, x ExecRequest) (*spec.Experiment, error) {
	if len(x.Command) == 0 {
		return nil, fmt.Errorf("no command to run")
	}
	cwd := e.Workload.Cwd
	if x.Cwd != "" {
		cwd = path.Clean(x.Cwd)
		if path.IsAbs(cwd) || cwd == ".." || strings.HasPrefix(cwd, "../") {
			return nil, fmt.Errorf("--cwd %q: want a directory relative to the mountpoint %s, inside it", x.Cwd, e.Guest.Mountpoint)
		}
	}
	n := *e
	n.Cache, n.Repetitions, n.Order = []string{"asis"}, 1, "interleaved"
	n.Workload.Builtin, n.Workload.Command, n.Workload.Cwd = "", slices.Clone(x.Command), cwd
	for i := range e.Methods {
		n.Methods = []spec.MethodEntry{e.Methods[i]}
		cells, err := Cells(&n)
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			variant := strings.TrimSuffix(c.Group, "/asis")
			if x.Method == "" || x.Method == variant || x.Method == c.Method {
				m := e.Methods[i]
				m.Params = slices.Clone(m.Params)
				for j := range m.Params {
					m.Params[j].Values = []any{c.Params[m.Params[j].Def.Name]}
				}
				n.Methods = []spec.MethodEntry{m}
				return &n, nil
			}
		}
	}
	return nil, fmt.Errorf("%s has no method %q (it has: %s)", e.File, x.Method, strings.Join(Variants(e), ", "))
}

// Variants are the names of e's method variants, as cell IDs give them without the cache
// state and repetition: what `vmfsbench exec --method` takes besides a method's name.
func Variants(e *spec.Experiment) []string {
	n := *e
	n.Cache, n.Repetitions = []string{"asis"}, 1
	cells, _ := Cells(&n)
	var out []string
	for _, c := range cells {
		out = append(out, strings.TrimSuffix(c.Group, "/asis"))
	}
	return out
}
