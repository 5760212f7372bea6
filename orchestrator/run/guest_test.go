package run

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/probe"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// needGuest makes sure a real guest can boot: QEMU and a cached kernel (see testenv.Guest).
func needGuest(t testing.TB) {
	t.Helper()
	testenv.Guest(t, func() error { _, err := kernel.Cached("x86_64"); return err })
}

// buildStatic compiles a testdata program as a static linux/amd64 binary at out.
func buildStatic(t testing.TB, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/"+pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
}

// runOne loads the spec (written into a temp dir beside tree), makes a Runner and runs the
// spec's first cell. It fails the test if any process of the cell outlives it.
func runOne(t testing.TB, specYAML string, setup func(*testRunner)) (*results.Cell, *testRunner) {
	t.Helper()
	r, cells := startRunner(t, specYAML, setup)
	res := r.RunCell(context.Background(), cells[0])
	t.Logf("cell %s: %s %s (wall %.1fs)", res.ID, res.Status, res.Error, res.Wall)
	if left := processesMentioning(r.Dirs.Sockets); len(left) > 0 {
		t.Errorf("processes of the cell left alive: %v", left)
	}
	if _, err := os.Stat(cells[0].Sockets); !os.IsNotExist(err) {
		t.Errorf("socket directory of the cell not removed: %v", err)
	}
	if _, err := os.Stat(cells[0].Work); !os.IsNotExist(err) {
		t.Errorf("work directory of the cell not removed: %v", err)
	}
	return res, r
}

// startRunner writes specYAML into a new directory, loads it and probes the host as `run`
// does, with the run directory beside the spec (the host digest too, for read-all); setup may
// change the runner before the cells are planned. The runner is closed when the test ends.
func startRunner(t testing.TB, specYAML string, setup func(*testRunner)) (*testRunner, []plan.Cell) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(file, []byte(specYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := spec.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newTestRunner(context.Background(), e, filepath.Join(dir, "out"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if setup != nil {
		setup(r)
	}
	cells, err := r.cells()
	if err != nil {
		t.Fatal(err)
	}
	return r, cells
}

// testRunner is a run as `vmfsbench run` makes one: what the probe found, the choices the
// cells are planned with, and the runner. A test may change the first two before it plans.
type testRunner struct {
	*Runner
	*probe.Result
	Choices plan.Choices
	exp     *spec.Experiment
}

// newTestRunner probes the host for e as `vmfsbench run` does (the host digest too, for
// read-all) and makes a runner into out.
func newTestRunner(ctx context.Context, e *spec.Experiment, out string, progress io.Writer) (*testRunner, error) {
	var p *Progress
	if progress != nil {
		p = NewProgress(progress)
	}
	found, err := probe.Host(ctx, e, probe.Options{Logf: p.Logf, Digest: e.Workload.Builtin == "read-all"})
	if err != nil {
		return nil, err
	}
	dirs, err := NewDirs(out, found.Host.Tree)
	if err != nil {
		return nil, err
	}
	return &testRunner{Runner: NewRunner(TreeOf(found), dirs, p), Result: found, exp: e}, nil
}

// cells plans the run's cells, as `vmfsbench run` does after the probe.
func (r *testRunner) cells() ([]plan.Cell, error) {
	return plan.Expand(r.exp, r.Host, r.Dirs, r.Choices)
}

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie is dead; only its parent can reap it
		}
		if strings.Contains(string(b), s) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

const specHead = `version: 1
name: guest-test
qemu: {cpus: 2, memory: 512MiB, accel: tcg, boot_timeout: %s}
cache: [asis]
methods: [9p: {msize: 512000, cache: loose}]
`

func specWith(bootTimeout, rest string) string {
	return strings.Replace(specHead, "%s", bootTimeout, 1) + rest
}

// TestReadAllOver9pMatchesHostDigest boots a guest that reads a synthetic tree over 9p with
// the seed's exclusions; its digest must equal `vmfsbench digest`'s.
func TestReadAllOver9pMatchesHostDigest(t *testing.T) {
	needGuest(t)
	res, r := runOne(t, specWith("5m", `tree:
  synthetic: {files: 600, bytes: 3MiB, seed: 11}
  exclude: [.git, "build/*", "!build/stage2cross"]
workload: {builtin: read-all, timeout: 5m}
`), func(r *testRunner) { r.Choices.Verify = true })
	if res.Status != results.StatusOK {
		t.Fatalf("cell failed: %s", res.Error)
	}
	v := res.Verify
	if v == nil || v.WriteError != "" || !v.LowerChecked || !strings.Contains(v.LowerWriteError, "read-only") {
		t.Errorf("verify = %+v, want a writable tree over a read-only lower layer", v)
	} else if len(v.Owners) != 1 || v.Owners["0:0"] == 0 {
		t.Errorf("owners %v, want all 0:0 (9p shows the host's owners)", v.Owners)
	}
	host, err := tree.DigestTree(context.Background(), r.Host.Tree, r.Matcher)
	if err != nil {
		t.Fatal(err)
	}
	// The guest's mounts as the kernel has them: the 9p lower layer with the msize asked for,
	// and the overlay at the mountpoint.
	if m := strings.Join(res.Mounts, "\n"); !strings.Contains(m, "/vmfsbench/lower 9p tree") || !strings.Contains(m, "msize=512000") ||
		!strings.Contains(m, " overlay overlay ") {
		t.Errorf("mounts %q, want the 9p lower layer (msize=512000) and the overlay", res.Mounts)
	}
	if res.Digest != host.Digest || res.DigestOK == nil || !*res.DigestOK {
		t.Errorf("guest digest %s, host %s", res.Digest, host.Digest)
	}
	if res.Guest.Files != host.Files || res.Guest.Bytes != host.Bytes || host.Files >= 600 {
		t.Errorf("guest saw %d files/%d bytes, host %d/%d (of 600 before exclusions)", res.Guest.Files, res.Guest.Bytes, host.Files, host.Bytes)
	}
	if res.Phases["boot"] <= 0 || res.Phases["workload"] <= 0 || res.Total != res.Phases["workload"] {
		t.Errorf("phases %v total %v", res.Phases, res.Total)
	}
}

// execTree makes a tree holding the static test program at bin/exitprog.
func execTree(t *testing.T) string {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	buildStatic(t, "exitprog", filepath.Join(root, "bin", "exitprog"))
	return root
}

func TestExecReturnsExitCodeAndOutput(t *testing.T) {
	needGuest(t)
	root := execTree(t)
	res, r := runOne(t, specWith("5m", `tree: {path: `+root+`}
workload: {command: [./exitprog, "0", "hello guest"], cwd: bin, timeout: 5m}
`), nil)
	if res.Status != results.StatusOK || res.ExitCode == nil || *res.ExitCode != 0 {
		t.Fatalf("status %s, exit code %v, error %s", res.Status, res.ExitCode, res.Error)
	}
	out, _ := os.ReadFile(filepath.Join(r.Dirs.Run, "logs", plan.FileName(res.ID), OutputFile))
	for _, want := range []string{"exitprog stdout: [0 hello guest]", "exitprog stderr"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output.log lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "exitprog.out")); !os.IsNotExist(err) {
		t.Errorf("the guest's write reached the host tree: %v", err)
	}
}

// TestHungBootBootsAgain: a first VM whose agent never speaks (started paused) is given up on
// and the cell boots again: it ends ok, warns of the hung attempt, keeps that attempt's
// console, and leaves the hung attempt's time out of every phase. It is given up on at the
// boot timeout, or, where the console is watched (an arch whose kernel prints its boot from
// the start: riscv64), once the console has been still for the silence, long before the
// timeout.
func TestHungBootBootsAgain(t *testing.T) {
	needGuest(t)
	for _, tc := range []struct {
		name          string
		first, silent time.Duration // the first attempt's boot timeout, the watched silence
		hung          time.Duration // how long the hung attempt takes
		want          string
	}{
		{"boot timeout", 10 * time.Second, 0, 10 * time.Second,
			"boot attempt 1: timed out after 10s waiting for the agent to start (boot timeout 10s); the guest's console is empty; " +
				"booted again (its console: console.attempt1.log)"},
		{"silent console", 5 * time.Minute, 3 * time.Second, 3 * time.Second,
			"boot attempt 1: boot hung: the kernel's console was still for 3s before it ran the agent; the guest's console is empty; " +
				"booted again (its console: console.attempt1.log)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, r := runOne(t, specWith("5m", `tree: {path: `+execTree(t)+`}
workload: {command: [./exitprog, "0"], cwd: bin, timeout: 5m}
`), func(r *testRunner) { r.hangFirstBoot, r.silence = tc.first, tc.silent })
			if res.Status != results.StatusOK {
				t.Fatalf("status %s, error %s", res.Status, res.Error)
			}
			if !slices.Contains(res.Warnings, tc.want) {
				t.Errorf("warnings %q, want %q", res.Warnings, tc.want)
			}
			logs := filepath.Join(r.Dirs.Run, "logs", plan.FileName(res.ID))
			if _, err := os.Stat(filepath.Join(logs, "console.attempt1.log")); err != nil {
				t.Errorf("the hung attempt's console: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(logs, plan.ConsoleFile)); err != nil || !strings.Contains(string(b), "vmfsbench-agent: ready") {
				t.Errorf("the second attempt's console: %v\n%s", err, b)
			}
			var phases float64
			for _, v := range res.Phases {
				phases += v
			}
			if res.Wall-phases < tc.hung.Seconds() {
				t.Errorf("phases %.1fs of a %.1fs cell: the hung attempt's %s is in them (%v)", phases, res.Wall, tc.hung, res.Phases)
			}
			if res.Wall > (tc.first + 2*time.Minute).Seconds() {
				t.Errorf("the cell took %.0fs", res.Wall)
			}
			if tc.silent > 0 && res.Wall-phases > (tc.silent+20*time.Second).Seconds() {
				t.Errorf("the silent attempt took %.1fs, want about %s", res.Wall-phases, tc.silent)
			}
		})
	}
}

// TestFaultsEndAsCellErrors: every way a guest can go wrong ends as a clear cell error within
// its timeout, with no process of the cell left (runOne checks).
func TestFaultsEndAsCellErrors(t *testing.T) {
	// failsFast bounds a cell whose boot and workload timeouts are 5m: it ended on the fault,
	// not on a timeout, with room for a loaded host's slow TCG boot.
	const failsFast = 4 * time.Minute
	needGuest(t)
	root := execTree(t)
	silent := filepath.Join(t.TempDir(), "silentinit")
	buildStatic(t, "silentinit", silent)
	garbage := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a kernel "), 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		boot     string
		workload string
		setup    func(*testRunner)
		want     string
		within   time.Duration
	}{
		{"workload fails", "5m", `{command: [./exitprog, "3"], cwd: bin, timeout: 5m}`, nil,
			"workload: agent: workload exited with status 3", failsFast},
		{"agent panics", "5m", `{builtin: read-all, timeout: 5m}`, func(r *testRunner) { r.Choices.Fault = "panic" },
			"agent panic", failsFast},
		{"kernel panics", "5m", `{builtin: read-all, timeout: 5m}`, func(r *testRunner) { r.Choices.Fault = "kernel-panic" },
			"guest kernel panic", failsFast},
		{"agent hangs", "5m", `{builtin: read-all, timeout: 5s}`, func(r *testRunner) { r.Choices.Fault = "hang" },
			"timed out", failsFast},
		{"guest never reports", "15s", `{builtin: read-all, timeout: 5m}`, func(r *testRunner) { r.Host.Agent = silent },
			"boot: timed out after 15s waiting for the agent to start (boot timeout 15s); the guest's console is empty", 90 * time.Second},
		// QEMU refuses to start: said as such, not as a wait up to the boot timeout, with its
		// own words from qemu.log.
		{"qemu refuses the kernel", "5m", `{builtin: read-all, timeout: 5m}`, func(r *testRunner) { r.Host.Kernel = garbage },
			"boot: qemu exited | after it started, before the guest's agent said anything: it did not boot the guest (not a boot timeout) (qemu-system-x86_64 (pid |" +
				"exit status 1); qemu says: qemu: linux kernel too old to load a ram disk", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, _ := runOne(t, specWith(tc.boot, "tree: {path: "+root+"}\nworkload: "+tc.workload+"\n"), tc.setup)
			for _, part := range strings.Split(tc.want, "|") { // each part
				if res.Status != results.StatusFailed || !strings.Contains(res.Error, part) {
					t.Errorf("status %s, error %q; want failed with %q", res.Status, res.Error, part)
				}
			}
			if d := time.Since(start); d > tc.within {
				t.Errorf("took %s, want under %s", d, tc.within)
			}
		})
	}
}

// runOnMappedTree runs one cell of method over the 600-file synthetic tree with the seed's
// exclusions and owner 1001:1001, with verification on, and checks what every method must
// do: the cell ok, the guest's digest equal to the host's, every entry owned by 1001:1001, a
// writable tree, and the host tree unchanged. It returns the cell and its host.log.
func runOnMappedTree(t *testing.T, method string) (*results.Cell, string) {
	t.Helper()
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root, err := synthetic.Ensure(context.Background(), cache, synthetic.Tree{Files: 600, Bytes: 3 << 20, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	before := treeState(t, root)
	res, r := runOne(t, `version: 1
name: guest-test
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
cache: [asis]
methods: [`+method+`]
tree:
  synthetic: {files: 600, bytes: 3MiB, seed: 11}
  exclude: [.git, "build/*", "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
workload: {builtin: read-all, timeout: 5m}
`, func(r *testRunner) { r.Choices.Verify = true })
	if r.Host.Tree != root {
		t.Fatalf("the runner used tree %s, not %s", r.Host.Tree, root)
	}
	logs := filepath.Join(r.Dirs.Run, "logs", plan.FileName(res.ID))
	host, _ := os.ReadFile(filepath.Join(logs, HostFile))
	if res.Status != results.StatusOK {
		events, _ := os.ReadFile(filepath.Join(logs, EventsFile))
		console, _ := os.ReadFile(filepath.Join(logs, plan.ConsoleFile))
		t.Fatalf("cell failed: %s\nhost.log:\n%s\nevents:\n%s\nconsole:\n%s", res.Error, host, events, console)
	}
	if res.DigestOK == nil || !*res.DigestOK || r.Want == nil || res.Digest != r.Want.Digest {
		t.Errorf("digest ok %v: guest %s, host %+v", res.DigestOK, res.Digest, r.Want)
	}
	if r.Want != nil && (res.Guest.Files != r.Want.Files || res.Guest.Bytes != r.Want.Bytes || r.Want.Files >= 600) {
		t.Errorf("guest read %d files/%d bytes, host %d/%d (of 600 before exclusions)", res.Guest.Files, res.Guest.Bytes, r.Want.Files, r.Want.Bytes)
	}
	if v := res.Verify; v == nil || len(v.Owners) != 1 || v.Owners["1001:1001"] == 0 || v.WriteError != "" {
		t.Errorf("guest check: %+v; want every entry owned by 1001:1001 and a writable tree", v)
	}
	if after := treeState(t, root); after != before {
		t.Error("the host tree changed")
	}
	return res, string(host)
}

// TestFaultStreamIntoFullTmpfs: serial-tar into a guest tmpfs smaller than the tree is
// refused before timing, with both sizes and the cures, instead of failing deep into its
// transfer with the guest's "no space left on device"; nothing boots.
func TestFaultStreamIntoFullTmpfs(t *testing.T) {
	needGuest(t)
	res, _ := runOne(t, `version: 1
name: full-tmpfs
qemu: {cpus: 2, memory: 384MiB, accel: tcg}
cache: [asis]
methods: [serial-tar: {}]
tree:
  synthetic: {files: 500, bytes: 320MiB, seed: 41}
workload: {builtin: read-all, timeout: 5m}
`, nil)
	want := "refused before timing: the filtered tree takes about 323 MiB in the guest's tmpfs (500 files, 320 MiB of content), which holds at most 192 MiB: half of qemu.memory 384 MiB. " +
		"Use target: disk (a scratch disk sized from the tree), or give the guest at least 1024 MiB of memory (qemu.memory)"
	if res.Status != results.StatusFailed || res.Error != want {
		t.Errorf("%s %q, want failed %q", res.Status, res.Error, want)
	}
	if res.Phases["boot"] != 0 || res.Phases["transfer"] != 0 {
		t.Errorf("phases %v: the refused cell booted or streamed", res.Phases)
	}
}

// TestConsoleWatch: a console is still from its last growth on, and not watched any more
// once the kernel ran the agent.
func TestConsoleWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	w := consoleWatch{path: path, at: time.Now().Add(-time.Minute)}
	if d := w.still(); d < time.Minute {
		t.Errorf("a console that never appeared: still for %s", d)
	}
	os.WriteFile(path, []byte("OpenSBI v1.1\n"), 0o644)
	if d := w.still(); d > time.Second {
		t.Errorf("a console that just grew: still for %s", d)
	}
	w.at = w.at.Add(-time.Minute)
	if d := w.still(); d < time.Minute {
		t.Errorf("a console unchanged for a minute: still for %s", d)
	}
	os.WriteFile(path, []byte("OpenSBI v1.1\n[    0.4] Run /init as init process\n"), 0o644)
	w.still()
	w.at = w.at.Add(-time.Hour)
	if d := w.still(); d != 0 {
		t.Errorf("after the kernel ran the agent: still for %s, want 0", d)
	}
}
