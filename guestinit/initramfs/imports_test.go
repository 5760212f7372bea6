package initramfs

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pkgPrefix prefixes every package of this module.
const pkgPrefix = modulePath + "/"

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
// guest's code only its contract with the host. What both sides link is the wire protocol
// (guestinit/protocol, and guestinit/sshd for ssh-tar's keys) and leaves of internal/, which
// import neither side: the tree walk and digest are internal/treewalk, and the synthetic-tree
// and lit generators (orchestrator/synthetic) stay out of every guest's /init. The symbols of
// an agent built as `make build` builds it, but with its symbol table kept, say the same.
func TestAgentLinksNoHostCode(t *testing.T) {
	needGo(t)
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH, "GOWORK=off"}
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
	shared := map[string]bool{"guestinit/protocol": true, "guestinit/sshd": true}
	for _, line := range goList(t, root, env, "-deps", "-f", "{{.ImportPath}}", "./orchestrator/...") {
		rel, ok := strings.CutPrefix(line, pkgPrefix)
		if ok && agentDeps[rel] && !shared[rel] && !strings.HasPrefix(rel, "internal/") {
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
