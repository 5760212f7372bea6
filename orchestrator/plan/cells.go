// Package plan expands an Experiment into cells (method x swept parameters x cache state x
// repetition) and each cell into the steps the runner executes, so that what `vmfsbench plan`
// prints is what `vmfsbench run` does.
package plan

import (
	"fmt"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// Cell is one point of the matrix.
type Cell struct {
	ID         string            `json:"id"`
	Method     string            `json:"method"`
	Params     Params            `json:"params"`
	Cache      string            `json:"cache"`
	Repetition int               `json:"repetition"`
	Group      string            `json:"group"`                // the ID without the repetition: cells repeated together
	Modules    []string          `json:"modules"`              // guest kernel modules the cell asks for
	LoadOrder  []string          `json:"load_order,omitempty"` // with dependencies, as packed; needs the kernel
	Steps      []method.Step     `json:"steps"`
	Warnings   []string          `json:"warnings,omitempty"`
	Refused    string            `json:"refused,omitempty"` // why the cell cannot run here: it fails before anything is timed
	Facts      map[string]string `json:"facts,omitempty"`   // what the method chose on this host (method.Setup.Facts)
	Job        protocol.Job      `json:"job"`               // what the guest agent does
	Work       string            `json:"work"`              // the cell's scratch directory on the host
	Logs       string            `json:"logs"`              // the cell's log directory
	Sockets    string            `json:"sockets"`           // the cell's directory of unix sockets
	HostPort   int               `json:"host_port"`         // the loopback port of a port forward
	Limits     Limits            `json:"limits"`            // what the runner holds the cell to
	Scale      string            `json:"scale,omitempty"`   // the workload's scale (workload.scale)
	// Guest is the cell's VM: the boot step starts it, and its command is the boot step's.
	Guest guest.Session `json:"-"`
}

// Tools are the host tools the cell's method runs with the cell's parameters (QEMU aside):
// what the probe finds, the check before a run requires, and an image's key names.
func (c *Cell) Tools() ([]method.Tool, error) {
	m, err := method.Lookup(c.Method)
	if err != nil {
		return nil, err
	}
	return m.Tools(c.Params), nil
}

// Params holds a cell's value of every parameter of its method, keyed by name.
type Params = method.Params

// Cells expands the experiment's matrix in the order the runner takes it: `interleaved` runs
// every cell of repetition 1, then of repetition 2, and so on; `grouped` runs all repetitions of
// a cell one after the other. Two method entries that would give the same cell are an error.
func Cells(e *spec.Experiment) ([]Cell, error) {
	type variant struct {
		entry  *spec.MethodEntry
		params Params
		id     string
	}
	var variants []variant
	seen := map[string]spec.Pos{}
	for i := range e.Methods {
		m := &e.Methods[i]
		for _, combo := range combinations(m.Params) {
			id := m.Method
			params := Params{}
			for j, p := range m.Params {
				params[p.Def.Name] = combo[j]
				if p.Given {
					id += "." + p.Def.Name + "=" + p.Def.FormatValue(combo[j])
				}
			}
			if first, dup := seen[id]; dup {
				return nil, fmt.Errorf("%s:%d:%d: methods: cell %s is already given at line %d",
					e.File, m.Pos.Line, m.Pos.Column, id, first.Line)
			}
			seen[id] = m.Pos
			variants = append(variants, variant{m, params, id})
		}
	}
	var cells []Cell
	add := func(v variant, cache string, r int) {
		group := v.id + "/" + cache
		cells = append(cells, Cell{
			ID: fmt.Sprintf("%s/r%d", group, r), Group: group, Method: v.entry.Method,
			Params: v.params, Cache: cache, Repetition: r,
		})
	}
	if e.Order == "grouped" {
		for _, v := range variants {
			for _, c := range e.Cache {
				for r := 1; r <= e.Repetitions; r++ {
					add(v, c, r)
				}
			}
		}
	} else {
		for r := 1; r <= e.Repetitions; r++ {
			for _, v := range variants {
				for _, c := range e.Cache {
					add(v, c, r)
				}
			}
		}
	}
	return cells, nil
}

// combinations returns the cartesian product of the parameters' values, the first parameter
// varying slowest.
func combinations(ps []spec.Param) [][]any {
	out := [][]any{{}}
	for _, p := range ps {
		var next [][]any
		for _, prefix := range out {
			for _, v := range p.Values {
				c := append(append([]any(nil), prefix...), v)
				next = append(next, c)
			}
		}
		out = next
	}
	return out
}

// FileName turns a cell ID into a name usable as one path component.
func FileName(id string) string {
	return strings.NewReplacer("/", "__", "=", "-", "@", "_").Replace(id)
}
