package plan

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/param"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// WriteText prints the plan for people: the experiment, then each cell with its parameters,
// modules, warnings and steps, host commands prefixed with `$`, guest commands with `guest#`.
func WriteText(w io.Writer, e *spec.Experiment, cells []Cell) {
	writeText(w, e, cells, false)
}

// writeText is WriteText; given leaves out of each params line the parameters at their
// defaults.
func writeText(w io.Writer, e *spec.Experiment, cells []Cell, given bool) {
	reps := "repetition"
	if e.Repetitions > 1 {
		reps += "s"
	}
	fmt.Fprintf(w, "plan %s (%s): %d cells, %d %s, order %s\n", e.Name, e.File, len(cells), e.Repetitions, reps, e.Order)
	fmt.Fprintf(w, "guest %s, %d cpus, %s memory, accel %s, mountpoint %s\n",
		e.Guest.Arch, e.QEMU.CPUs, param.FormatSize(e.QEMU.Memory), e.QEMU.Accel, e.Guest.Mountpoint)
	if len(e.Tree.Exclude) > 0 {
		fmt.Fprintf(w, "exclude %s\n", strings.Join(e.Tree.Exclude, " "))
	}
	if o := e.Tree.Owner; o != nil {
		fmt.Fprintf(w, "owner %d:%d\n", o.UID, o.GID)
	}
	if sc := e.Workload.Scale; sc != "" {
		var names []string
		for _, s := range e.Workload.Scales {
			names = append(names, s.Name)
		}
		fmt.Fprintf(w, "scale %s (of %s: workload.scale)\n", sc, strings.Join(names, ", "))
	}
	if e.Workload.Builtin != "" {
		fmt.Fprintf(w, "workload builtin %s, timeout %s\n", e.Workload.Builtin, e.Workload.Timeout)
	} else {
		fmt.Fprintf(w, "workload %s (cwd %s), timeout %s\n", shellJoin(e.Workload.Command), e.Workload.Cwd, e.Workload.Timeout)
	}
	for i, c := range cells {
		fmt.Fprintf(w, "\ncell %d/%d %s\n", i+1, len(cells), c.ID)
		var ps []string
		for _, k := range slices.Sorted(maps.Keys(c.Params)) {
			if !given || !isDefault(c.Method, k, c.Params[k]) {
				ps = append(ps, fmt.Sprintf("%s=%v", k, c.Params[k]))
			}
		}
		if given && len(ps) == 0 {
			ps = []string{"(the defaults)"}
		}
		fmt.Fprintf(w, "  params   %s\n", strings.Join(ps, " "))
		fmt.Fprintf(w, "  modules  %s\n", strings.Join(c.Modules, " "))
		if c.LoadOrder != nil {
			fmt.Fprintf(w, "  packed   %s\n", strings.Join(c.LoadOrder, " "))
		}
		for _, wn := range c.Warnings {
			fmt.Fprintf(w, "  WARNING  %s\n", wn)
		}
		if c.Refused != "" {
			fmt.Fprintf(w, "  REFUSED  %s\n", c.Refused)
		}
		for j, s := range c.Steps {
			fmt.Fprintf(w, "  %d. %-13s %s\n", j+1, s.Kind, s.Desc)
			for _, argv := range s.Commands {
				fmt.Fprintf(w, "       $ %s\n", shellJoin(argv))
			}
			for _, g := range s.Guest {
				fmt.Fprintf(w, "       guest# %s\n", g)
			}
		}
	}
}

// isDefault says whether v is the default of method m's parameter name.
func isDefault(m, name string, v any) bool {
	impl, err := method.Lookup(m)
	if err != nil {
		return false
	}
	for _, d := range impl.Params() {
		if d.Name == name {
			return d.FormatValue(v) == d.FormatValue(d.Default)
		}
	}
	return false
}
