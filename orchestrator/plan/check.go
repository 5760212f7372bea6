package plan

import (
	"fmt"
	"slices"

	"github.com/hashicorp/go-multierror"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// Check runs the methods' refusals that need no host probe (method.SpecChecker) on every
// variant of every method entry, so that `validate` (and plan and run, before anything else)
// refuse them with the spec's file:line:col. What needs the host (tools, devices, the tree's
// size) is the plan's. It returns nil or a *multierror.Error of *spec.FieldError.
func Check(e *spec.Experiment) error {
	var errs *multierror.Error
	for i := range e.Methods {
		m := &e.Methods[i]
		impl, err := method.Lookup(m.Method)
		if err != nil {
			continue // the loader has said so
		}
		var said []string
		for _, combo := range combinations(m.Params) {
			params := method.Params{}
			for j, p := range m.Params {
				params[p.Def.Name] = combo[j]
			}
			c := method.Config{Params: params, Arch: e.Guest.Arch, Memory: e.QEMU.Memory, Mountpoint: GuestTreePath(e)}
			if err := method.CheckSpec(impl, c); err != nil && !slices.Contains(said, err.Error()) {
				said = append(said, err.Error())
				errs = multierror.Append(errs, &spec.FieldError{File: e.File, Line: m.Pos.Line, Column: m.Pos.Column,
					Field: fmt.Sprintf("methods[%d].%s", i, m.Method), Msg: err.Error()})
			}
		}
	}
	return errs.ErrorOrNil()
}
