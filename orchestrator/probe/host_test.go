package probe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// TestHostReportsModulesDep: a guest kernel whose modules.dep cannot be read is the probe's
// error before a run (every cell packs modules), and a plan's note, never passed over.
func TestHostReportsModulesDep(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	treeDir, mods := filepath.Join(dir, "tree"), filepath.Join(dir, "modules", "6.1.0")
	for _, d := range []string{treeDir, mods} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{filepath.Join(treeDir, "a"): "a\n", filepath.Join(dir, "vmlinuz"): "not a kernel",
		filepath.Join(mods, "modules.dep"): "kernel/fs/9p/9p.ko:\nno colon here\n"}
	for f, body := range files {
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(file, []byte("version: 1\nname: t\ntree: {path: tree}\n"+
		"guest: {kernel: vmlinuz, modules: modules/6.1.0, mountpoint: /t}\nqemu: {accel: tcg}\n"+
		"workload: {builtin: stat-all}\ncache: [asis]\nmethods: [9p: {}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := spec.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "the guest kernel's modules: module closure: " + filepath.Join(mods, "modules.dep") + ":2: not a modules.dep line"
	if _, err := Host(context.Background(), e, Options{}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("probe for a run: %v, want an error starting %q", err, want)
	}
	found, err := Host(context.Background(), e, Options{Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(found.Notes, "\n"), want) {
		t.Errorf("probe for a plan: notes %q, want one starting %q", found.Notes, want)
	}
}
