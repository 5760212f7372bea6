package run

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// toolPackages names the Debian package of each host tool a cell may run.
var toolPackages = map[string]string{
	"mksquashfs": "squashfs-tools", "mkfs.erofs": "erofs-utils", "mkfs.ext4": "e2fsprogs", "debugfs": "e2fsprogs",
	"qemu-system-x86_64": "qemu-system-x86", "qemu-system-aarch64": "qemu-system-arm",
	"qemu-system-riscv64": "qemu-system-misc", "/usr/lib/qemu/virtiofsd": "qemu-system-common",
}

// methodTools are the tools a method's Go code runs besides the commands of its steps.
var methodTools = map[string][]string{"ext4": {"debugfs"}}

// CheckTools makes sure, before any cell runs, that every host tool the cells whose ID
// matches only ("" for all) will run can be found: a command name on PATH, a path
// executable. Its error names each missing tool, where known its Debian package, and the
// cells that need it.
func CheckTools(cells []plan.Cell, only string) error {
	need := map[string][]string{} // tool -> cell IDs
	for _, c := range cells {
		if only != "" {
			if ok, err := path.Match(only, c.ID); err != nil {
				return fmt.Errorf("--only %q: %w", only, err)
			} else if !ok {
				continue
			}
		}
		tools := methodTools[c.Method]
		for _, s := range c.Steps {
			switch s.Kind {
			case method.StepBuildImage, method.StepStartDaemon, method.StepBoot, method.StepTransfer:
				if len(s.Argv) > 0 {
					tools = append(tools, s.Argv[0])
				}
			}
		}
		for _, t := range tools {
			if ids := need[t]; len(ids) == 0 || ids[len(ids)-1] != c.ID {
				need[t] = append(need[t], c.ID)
			}
		}
	}
	var missing []string
	for t, ids := range need {
		if _, err := exec.LookPath(t); err == nil {
			continue
		}
		what := t + " is not on PATH"
		if strings.Contains(t, "/") {
			what = t + " is not an executable file"
			if _, err := os.Stat(t); err != nil {
				what = t + " does not exist"
			}
		}
		if pkg := toolPackages[t]; pkg != "" {
			what += " (Debian package " + pkg + ")"
		}
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
