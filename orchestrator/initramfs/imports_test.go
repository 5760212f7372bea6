package initramfs

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// pkgPrefix prefixes every package of this module.
const pkgPrefix = modulePath + "/"

// agentBuildEnv is the module's root and the environment the agent is built in, for go
// list and go build; it skips (or in CI fails) a test where Go is missing.
func agentBuildEnv(t *testing.T) (root string, env []string) {
	t.Helper()
	needGo(t)
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return root, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH, "GOWORK=off"}
}

// goList runs `go list` in the module root with args and returns its lines.
func goList(t *testing.T, root string, env []string, args ...string) []string {
	t.Helper()
	out, err := goOutput(context.Background(), root, env, append([]string{"list"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

// TestAgentLinksNoHostCode: the guest agent links no host code, and the host links of the
// guest's code nothing. What both sides link is leaves of internal/: the wire protocol
// (internal/protocol, and internal/sshwire for ssh-tar's keys and command), which
// import neither side: the tree walk and digest are internal/treewalk, and the synthetic-tree
// and lit generators (orchestrator/synthetic) stay out of every guest's /init. The symbols of
// an agent built as `make build` builds it, but with its symbol table kept, say the same.
func TestAgentLinksNoHostCode(t *testing.T) {
	root, env := agentBuildEnv(t)
	agentDeps := map[string]bool{}
	for _, p := range goList(t, root, env, "-deps", agentPackage) {
		if !strings.HasPrefix(p, pkgPrefix) {
			continue
		}
		rel := strings.TrimPrefix(p, pkgPrefix)
		agentDeps[rel] = true
		if !strings.HasPrefix(rel, "guestinit/") && !strings.HasPrefix(rel, "internal/") {
			t.Errorf("the agent links %s: guest code imports host code", rel)
		}
		if !underAny(rel, agentSources) {
			t.Errorf("the agent links %s, outside agentSources %q: an edit there would not rebuild the cached agent", rel, agentSources)
		}
	}
	if !agentDeps["guestinit/agent"] {
		t.Fatalf("go list -deps %s gave %v: not the agent's closure", agentPackage, agentDeps)
	}
	if !agentDeps["internal/treewalk"] {
		t.Errorf("the agent does not link internal/treewalk: where do its walk and digest come from?")
	}
	for _, line := range goList(t, root, env, "-deps", "-f", "{{.ImportPath}}", "./orchestrator/...") {
		rel, ok := strings.CutPrefix(line, pkgPrefix)
		if ok && agentDeps[rel] && !strings.HasPrefix(rel, "internal/") {
			t.Errorf("the host links %s, which the agent links too: share it through a leaf of internal/", rel)
		}
	}

	// The symbols: the agent built for this host's GOARCH without -s -w, which strip them.
	bin := filepath.Join(t.TempDir(), "init")
	if _, err := goOutput(context.Background(), root, env, "build", "-trimpath", "-o", bin, agentPackage); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm %s: %v", bin, err)
	}
	syms := strings.Split(string(out), "\n")
	var agentSyms int
	var host []string
	for _, l := range syms {
		switch {
		case strings.Contains(l, pkgPrefix+"guestinit/agent."), strings.Contains(l, " main."):
			agentSyms++
		case strings.Contains(l, pkgPrefix+"orchestrator/"):
			host = append(host, strings.TrimSpace(l))
		}
	}
	if len(host) > 0 {
		t.Errorf("%d of the agent's symbols name host code, such as:\n%s", len(host), strings.Join(host[:min(len(host), 5)], "\n"))
	}
	if agentSyms == 0 {
		t.Fatalf("go tool nm %s names no symbol of the agent in %d lines: the check sees nothing", bin, len(syms))
	}
}

// underAny reports whether the module-relative package rel lies in one of dirs.
func underAny(rel string, dirs []string) bool {
	for _, d := range dirs {
		if rel == d || strings.HasPrefix(rel, d+"/") {
			return true
		}
	}
	return false
}

// TestSidesMeetInInternal: no package of the guest's side (guestinit/..., its tests included)
// imports the host's (orchestrator/..., results/...), directly or through another package,
// and the leaves of internal/ import neither side: what both sides need lives in internal/
// (atomicfile and proc for the host-built initramfs, treewalk for the walk), so that an
// import from either side into internal/ can never lead back to the other.
func TestSidesMeetInInternal(t *testing.T) {
	root, env := agentBuildEnv(t)
	rules := []struct {
		pattern string   // the packages checked
		refused []string // what none of them may depend on
		tests   bool     // their tests too
	}{
		{"./guestinit/...", []string{"orchestrator", "results"}, true},
		{"./internal/...", []string{"orchestrator", "results", "guestinit"}, true},
		// The host's code: its tests may stand up the guest's ssh server in process.
		{"./orchestrator/...", []string{"guestinit"}, false},
		{"./results/...", []string{"guestinit"}, false},
	}
	for _, rule := range rules {
		var checked int
		args := []string{"list", "-f", "{{.ImportPath}}:{{join .Deps \",\"}}", rule.pattern}
		if rule.tests {
			args = slices.Insert(args, 1, "-test")
		}
		out, err := goOutput(context.Background(), root, env, args...)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			pkg, deps, _ := strings.Cut(line, ":")
			pkg, _, _ = strings.Cut(pkg, " ") // "p [p.test]" is p with its tests
			if !strings.HasPrefix(pkg, pkgPrefix) {
				continue
			}
			checked++
			for _, d := range strings.Split(deps, ",") {
				rel, ok := strings.CutPrefix(d, pkgPrefix)
				if ok && underAny(rel, rule.refused) {
					t.Errorf("%s depends on %s: the sides meet only in internal/", strings.TrimPrefix(pkg, pkgPrefix), rel)
				}
			}
		}
		if checked == 0 {
			t.Errorf("go list %s listed no package: the check sees nothing", rule.pattern)
		}
	}
}
