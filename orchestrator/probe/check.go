package probe

import (
	"fmt"
	"os/exec"
	"path"
	"sort"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// CheckTools makes sure, before any cell runs, that every host tool the cells whose ID
// matches only ("" for all) will run was found by the host probe (Host), and that the command
// of every boot step is on PATH: the check between the plan and the run. Its error names each missing tool, where known its Debian
// package, and the cells that need it.
func CheckTools(cells []plan.Cell, only string, h plan.Host, guestArch string) error {
	need := map[string][]string{} // problem -> cell IDs
	add := func(what, id string) {
		if ids := need[what]; len(ids) == 0 || ids[len(ids)-1] != id {
			need[what] = append(need[what], id)
		}
	}
	for _, c := range cells {
		if only != "" {
			if ok, err := path.Match(only, c.ID); err != nil {
				return fmt.Errorf("--only %q: %w", only, err)
			} else if !ok {
				continue
			}
		}
		tools, err := c.Tools()
		if err != nil {
			return err
		}
		for _, t := range tools {
			if ht, ok := h.Tools[t.Name]; !ok || ht.Err != nil {
				what := t.Name + " was not probed"
				if ok {
					what = ht.Err.Error()
				}
				add(what, c.ID)
			}
		}
		for _, s := range c.Steps {
			if s.Kind != method.StepBoot || len(s.Commands) == 0 {
				continue
			}
			qemu := s.Commands[0][0]
			if _, err := exec.LookPath(qemu); err != nil {
				what := qemu + " is not on PATH"
				if a, err := arch.Lookup(guestArch); err == nil && a.QEMUBinary == qemu {
					what += " (Debian package " + a.QEMUPackage + ")"
				}
				add(what, c.ID)
			}
		}
	}
	var missing []string
	for what, ids := range need {
		if len(ids) > 3 {
			ids = append(ids[:3:3], fmt.Sprintf("%d more", len(ids)-3))
		}
		missing = append(missing, what+"; needed by "+strings.Join(ids, ", "))
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("missing host tools:\n  %s", strings.Join(missing, "\n  "))
}
