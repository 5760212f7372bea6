package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

// parseErrs parses yaml as bad.yaml and returns its error messages.
func parseErrs(t *testing.T, yaml string) (*Experiment, []string) {
	t.Helper()
	e, err := Parse("bad.yaml", []byte(yaml))
	if err == nil {
		return e, nil
	}
	var m *multierror.Error
	if !errors.As(err, &m) {
		t.Fatalf("error is not a list of field errors: %v", err)
	}
	var out []string
	for _, fe := range m.Errors {
		out = append(out, fe.Error())
	}
	return e, out
}

func wantErrs(t *testing.T, yaml string, want ...string) {
	t.Helper()
	_, got := parseErrs(t, yaml)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTreePath (finding 6): a tree path that is a file, or a symlink to one, is refused at
// load with its position; a symlink to a directory is resolved once, at load, and the
// resolved path is the one the experiment carries; a missing tree is left to run and digest.
func TestTreePath(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	file := filepath.Join(dir, "file")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"link": "real", "filelink": "file", "dangling": "nothing", "link2": "link"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	spec := func(p string) string {
		return fmt.Sprintf("version: 1\nname: x\ntree:\n  path: %s\nmethods: [ext4: {}]\n", p)
	}
	for _, name := range []string{"link", "link2"} {
		e, errs := parseErrs(t, spec(filepath.Join(dir, name)))
		if errs != nil {
			t.Fatalf("%s: %v", name, errs)
		}
		if e.Tree.Path != real {
			t.Errorf("tree.path through %s = %s, want the resolved %s", name, e.Tree.Path, real)
		}
	}
	wantErrs(t, spec(file), "bad.yaml:4:9: tree.path: "+file+" is not a directory; the tree must be one")
	wantErrs(t, spec(filepath.Join(dir, "filelink")),
		"bad.yaml:4:9: tree.path: "+filepath.Join(dir, "filelink")+" (a symlink to "+file+") is not a directory; the tree must be one")
	for _, absent := range []string{"nothing", "dangling"} {
		e, errs := parseErrs(t, spec(filepath.Join(dir, absent)))
		if errs != nil || e.Tree.Path != filepath.Join(dir, absent) {
			t.Errorf("%s: %v, path %s: a missing tree is no error at load", absent, errs, e.Tree.Path)
		}
	}
}

// TestTreeHoldsCache (finding 9): a tree that holds vmfsbench's own cache directory (which a
// run writes) is refused at load, both paths named; XDG_CACHE_HOME or HOME decides where the
// cache is, and a symlinked cache is resolved. A tree inside the cache (a synthetic one) is fine.
func TestTreeHoldsCache(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spec := func(p string) string {
		return fmt.Sprintf("version: 1\nname: x\ntree:\n  path: %s\nmethods: [ext4: {}]\n", p)
	}
	want := func(tree, cache string) string {
		return "bad.yaml:4:9: tree.path: " + tree + " holds vmfsbench's own cache directory " + cache + ", which a run " +
			"writes (kernels, initramfs archives, agents): the tree would change under the benchmark; choose a tree that " +
			"does not hold it, or move the cache out of the tree with XDG_CACHE_HOME"
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", home)
	// The cache need not exist yet: the first run makes it.
	wantErrs(t, spec(home), want(home, filepath.Join(home, ".cache", "vmfsbench")))
	if _, errs := parseErrs(t, spec(filepath.Join(home, "src"))); errs != nil {
		t.Errorf("a tree beside the cache: %v", errs)
	}
	xdg := filepath.Join(dir, "tree", "sub", "cache")
	if err := os.MkdirAll(filepath.Join(xdg, "vmfsbench", "trees", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", xdg)
	wantErrs(t, spec(filepath.Join(dir, "tree")), want(filepath.Join(dir, "tree"), filepath.Join(xdg, "vmfsbench")))
	wantErrs(t, spec(filepath.Join(dir, "tree", "sub", "cache", "vmfsbench")),
		want(filepath.Join(xdg, "vmfsbench"), filepath.Join(xdg, "vmfsbench")))
	if _, errs := parseErrs(t, spec(filepath.Join(xdg, "vmfsbench", "trees", "x"))); errs != nil {
		t.Errorf("a tree inside the cache: %v", errs)
	}
	// A cache reached through a symlink into the tree.
	if err := os.Symlink(filepath.Join(dir, "tree", "sub"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "link"))
	wantErrs(t, spec(filepath.Join(dir, "tree")), want(filepath.Join(dir, "tree"), filepath.Join(dir, "link", "vmfsbench")))
}

// TestCommandAndMountpoint (finding 11): an empty program or argument in workload.command,
// and a mountpoint the agent owns, are refused where they are written.
func TestCommandAndMountpoint(t *testing.T) {
	head := "version: 1\nname: x\ntree: {path: /t}\nmethods: [ext4: {}]\n"
	wantErrs(t, head+"workload:\n  command: [\"\"]\n",
		"bad.yaml:6:13: workload.command[0]: the program to run is empty; expected a path such as /bin/sh")
	wantErrs(t, head+"workload:\n  command: [/bin/sh, \"\", x]\n",
		"bad.yaml:6:22: workload.command[1]: an empty argument; give each argument as a non-empty string")
	for _, mp := range []string{"/proc", "/sys/x", "/dev/shm", "/vmfsbench", "/vmfsbench/lower"} {
		root := strings.SplitN(mp[1:], "/", 2)[0]
		wantErrs(t, head+"guest: {mountpoint: "+mp+"}\n",
			"bad.yaml:5:21: guest.mountpoint: "+mp+" is under /"+root+", which the guest's agent uses; choose another directory such as "+DefaultMountpoint)
	}
	for mp, what := range map[string]string{"/init": "/init is a file of the guest's initramfs (the guest agent)",
		"/init/x": "/init is a file of the guest's initramfs (the guest agent)", "/bin/busybox": "/bin/busybox is a file of the guest's initramfs (busybox)"} {
		wantErrs(t, head+"guest: {mountpoint: "+mp+"}\n",
			"bad.yaml:5:21: guest.mountpoint: "+what+", not a directory the tree can be mounted on; choose another directory such as "+DefaultMountpoint)
	}
	wantErrs(t, head+"guest: {mountpoint: /opt/t, files: {/opt/t: /bin/true}}\n",
		"bad.yaml:5:21: guest.mountpoint: /opt/t is a file of the guest's initramfs (guest.files), not a directory the tree can be mounted on; choose another directory such as "+DefaultMountpoint)
	for _, mp := range []string{"/procfs", "/home/dev", "/vmfsbench2", "/initial", "/bin"} {
		if _, errs := parseErrs(t, head+"guest: {mountpoint: "+mp+"}\n"); errs != nil {
			t.Errorf("%s: %v", mp, errs)
		}
	}
}

// TestMatrixCap (finding 7): a matrix over MaxCells is refused at load, counted without
// expanding it: a sweep of 3,000 values x 1000 repetitions x 2 cache states (6 million
// cells) is refused in little time and memory, and a product that overflows int64 is
// counted exactly.
func TestMatrixCap(t *testing.T) {
	var vals []string
	for i := range 3000 {
		vals = append(vals, fmt.Sprint(4096+i))
	}
	sweep := "[" + strings.Join(vals, ", ") + "]"
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	wantErrs(t, "version: 1\nname: x\ntree: {path: /t}\nrepetitions: 1000\nmethods:\n  - 9p: {msize: "+sweep+"}\n",
		"bad.yaml:6:3: methods: the matrix has 6,000,000 cells (1 method entries with their sweeps x 2 cache states x 1000 repetitions), more than the 100,000 a spec may have; sweep fewer values or run fewer repetitions")
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Errorf("loading allocated %d MiB", grew>>20)
	}
	// Four parameters of 2^20 values each: 2^80 variants, beyond int64, counted exactly.
	huge := make([]any, 1<<20)
	e := &Experiment{Cache: []string{"asis"}, Repetitions: 1, Methods: []MethodEntry{{Params: []Param{{Values: huge}, {Values: huge}, {Values: huge}, {Values: huge}}}}}
	d := &decoder{file: "huge.yaml"}
	d.countCells(nil, e)
	if len(d.errs) != 1 || !strings.Contains(d.errs[0].Error(), "huge.yaml:1:1: methods: the matrix has 1,208,925,819,614,629,174,706,176 cells") {
		t.Errorf("errors %v", d.errs)
	}
	// At the cap exactly is fine.
	if _, errs := parseErrs(t, "version: 1\nname: x\ntree: {path: /t}\ncache: [asis]\nrepetitions: 100\nmethods:\n  - 9p: {msize: "+
		"["+strings.Join(vals[:1000], ", ")+"]}\n"); errs != nil {
		t.Errorf("100,000 cells: %v", errs)
	}
}

// TestExcludeEverything (finding 11): exclusion rules that leave no file of the tree are a
// warning, with the position of the rules; a tree with one kept file is not.
func TestExcludeEverything(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(exclude string) []string {
		e, err := Parse("w.yaml", []byte("version: 1\nname: x\ntree:\n  path: "+dir+"\n  exclude: "+exclude+"\nmethods: [ext4: {}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		return Warnings(e)
	}
	want := "w.yaml:5:13: tree.exclude: warning: the rules leave no file of " + dir + "; the benchmark would read an empty tree"
	for _, ex := range []string{`["**"]`, `[a]`, `["a/b/f"]`, `["*", "!a"]`} {
		if got := load(ex); len(got) != 1 || got[0] != want {
			t.Errorf("exclude %s: warnings %q, want %q", ex, got, want)
		}
	}
	for _, ex := range []string{`[]`, `[.git]`, `["*", "!a", "!a/b", "!a/b/f"]`} {
		if got := load(ex); len(got) != 0 {
			t.Errorf("exclude %s: warnings %q, want none", ex, got)
		}
	}
}

// TestScales: workload.scales are named sizes of the workload; workload.scale picks one
// (default the first), whose command and timeout replace the workload's own.
func TestScales(t *testing.T) {
	head := "version: 1\nname: x\ntree: {path: /t}\nmethods: [ext4: {}]\n"
	scales := "  scales:\n    smoke: {command: [lit, a]}\n    study: {command: [lit, a, b], timeout: 2h}\n"
	e, errs := parseErrs(t, head+"workload:\n  command: [lit]\n  timeout: 5m\n"+scales)
	if errs != nil {
		t.Fatal(errs)
	}
	if e.Workload.Scale != "smoke" || strings.Join(e.Workload.Command, " ") != "lit a" || e.Workload.Timeout != 5*time.Minute {
		t.Errorf("default scale: %q %q %s", e.Workload.Scale, e.Workload.Command, e.Workload.Timeout)
	}
	e, errs = parseErrs(t, head+"workload:\n  scale: study\n"+scales)
	if errs != nil {
		t.Fatal(errs)
	}
	if e.Workload.Scale != "study" || strings.Join(e.Workload.Command, " ") != "lit a b" || e.Workload.Timeout != 2*time.Hour ||
		len(e.Workload.Scales) != 2 {
		t.Errorf("study scale: %q %q %s", e.Workload.Scale, e.Workload.Command, e.Workload.Timeout)
	}
	wantErrs(t, head+"workload:\n  scale: huge\n"+scales, "bad.yaml:6:10: workload.scale: unknown scale \"huge\", expected one of smoke, study")
	wantErrs(t, head+"workload:\n  scale: smoke\n", "bad.yaml:6:10: workload.scale: no workload.scales to choose from")
	wantErrs(t, head+"workload:\n  scales:\n    smoke: {command: [lit, \"\"]}\n",
		"bad.yaml:7:28: workload.scales.smoke.command[1]: an empty argument; give each argument as a non-empty string")
	wantErrs(t, head+"workload:\n  scales:\n    smoke: {cmd: [lit]}\n",
		"bad.yaml:7:13: workload.scales.smoke.cmd: unknown field; expected one of command, timeout")
}
