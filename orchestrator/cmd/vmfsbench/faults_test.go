package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// The fault catalogue at the command's level: signals in the middle of a cell, a host tool
// missing from PATH, --fail-fast, and two runs at once. Each case checks the exit code of
// DESIGN.md (0 all ok, 1 some cell failed, 2 bad input or environment), the error on stderr,
// that no process of the run is left (by command line and by process group), that the run's
// temporary directory (TMPDIR, private to the case) is empty, that no work directory is left
// and what results are on disk. The runner's faults are in orchestrator/run/faults_test.go.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// cliBinary builds vmfsbench once for the tests of this file.
func cliBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vmfsbench-faults-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "vmfsbench")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// cli is one vmfsbench process of a test.
type cli struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

// startCLI starts vmfsbench in dir with env added to the test's environment.
func startCLI(t *testing.T, dir string, env []string, args ...string) *cli {
	t.Helper()
	c := &cli{cmd: exec.Command(cliBinary(t), args...), done: make(chan struct{})}
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.done)
		err := c.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			c.code = ee.ExitCode()
		default:
			c.code = -1
		}
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// wait waits for the process to end, at most d, and returns its exit code.
func (c *cli) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(d):
		c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("vmfsbench %v did not end within %s:\n%s", c.cmd.Args[1:], d, c.stderr.String())
		return 0
	}
}

// privateTmp makes a short directory for TMPDIR and returns it with the environment that
// sets it; the directory must be empty again when the run has ended.
func privateTmp(t *testing.T) (string, []string) {
	t.Helper()
	tmp, err := os.MkdirTemp("", "vf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	return tmp, []string{"TMPDIR=" + tmp}
}

// writeSpec writes a spec over a small synthetic tree into dir.
func writeSpec(t *testing.T, dir, name, methods, workload string) string {
	t.Helper()
	file := filepath.Join(dir, name+".yaml")
	must(t, os.WriteFile(file, []byte(`version: 1
name: `+name+`
tree: {synthetic: {files: 500, bytes: 2MiB, seed: 29}}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: `+workload+`
cache: [asis]
methods: [`+methods+`]
`), 0o644))
	return file
}

// processes lists the live processes whose command line mentions s, as "pid pgid: cmdline".
func processes(s string) (out []string, pgids []int) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err != nil || strings.Contains(string(st), ") Z ") {
			continue
		}
		pg, _ := syscall.Getpgid(pid)
		pgids = append(pgids, pg)
		out = append(out, fmt.Sprintf("%d %d: %s", pid, pg, strings.ReplaceAll(string(b), "\x00", " ")))
	}
	return out, pgids
}

// groupAlive lists the live processes of process group pgid.
func groupAlive(pgid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return out
}

// assertClean checks that nothing of a finished run is left: no process mentioning its
// temporary or output directory, none in the process groups seen while it ran, an empty
// temporary directory and no work directory.
func assertClean(t *testing.T, tmp, out string, pgids []int) {
	t.Helper()
	for _, d := range []string{tmp, out} {
		if left, _ := processes(d); d != "" && len(left) > 0 {
			t.Errorf("processes left alive: %v", left)
		}
	}
	for _, pg := range pgids {
		if m := groupAlive(pg); len(m) > 0 {
			t.Errorf("process group %d still has processes: %v", pg, m)
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
		t.Errorf("%d entries left in TMPDIR %s, the first %s", len(ents), tmp, ents[0].Name())
	}
	if out != "" {
		if _, err := os.Stat(filepath.Join(out, "work")); !os.IsNotExist(err) {
			t.Errorf("work directory left: %v", err)
		}
	}
}

// waitWorkload waits until the cell whose log directory is named cellFile reports its
// workload's start, and returns the process groups of the processes mentioning tmp then.
func waitWorkload(t *testing.T, c *cli, out, cellFile, tmp string) []int {
	t.Helper()
	ev := filepath.Join(out, "logs", cellFile, "events.jsonl")
	for end := time.Now().Add(6 * time.Minute); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		select {
		case <-c.done:
			t.Fatalf("vmfsbench ended (exit %d) before the workload of %s:\n%s", c.code, cellFile, c.stderr.String())
		default:
		}
		if b, _ := os.ReadFile(ev); strings.Contains(string(b), `"step":"workload"`) {
			procs, pgids := processes(tmp)
			if len(procs) == 0 {
				t.Fatalf("no process of the cell mentions %s", tmp)
			}
			return pgids
		}
	}
	t.Fatalf("the workload of %s never started:\n%s", cellFile, c.stderr.String())
	return nil
}

// TestSignalMidCell sends SIGINT, then SIGTERM, to vmfsbench while a cell's workload runs:
// vmfsbench stops the cell at once, kills its processes, writes no result for it (so that
// --resume runs it again), keeps the results of the cells that finished, and exits 1 with a
// resume hint. Resuming the SIGINT run then runs exactly the interrupted cell.
func TestSignalMidCell(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	// squashfs's guest has /dev/vda and ends at once; 9p's has not, and sleeps until its
	// timeout.
	specFile := writeSpec(t, dir, "signal", "squashfs: {}, 9p: {}",
		`{command: [/bin/busybox, sh, -c, "test -b /dev/vda || exec /bin/busybox sleep 600"], timeout: 5s}`)
	for _, tc := range []struct {
		sig  syscall.Signal
		only []string // --only: run just the 9p cell
	}{
		{syscall.SIGINT, nil},
		{syscall.SIGTERM, []string{"--only", "9p/*/*"}},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			tmp, env := privateTmp(t)
			out := filepath.Join(t.TempDir(), "run")
			c := startCLI(t, dir, env, append([]string{"run", specFile, "-o", out}, tc.only...)...)
			pgids := waitWorkload(t, c, out, "9p__asis__r1", tmp)
			t0 := time.Now()
			c.cmd.Process.Signal(tc.sig)
			code := c.wait(t, time.Minute)
			t.Logf("exit %d %s after the signal; stderr:\n%s", code, time.Since(t0).Round(time.Millisecond), c.stderr.String())
			stderr := c.stderr.String()
			for _, want := range []string{
				"9p/asis/r1 INTERRUPTED, no result written: workload: interrupted while waiting for the workload (timeout 5s): " +
					map[syscall.Signal]string{syscall.SIGINT: "interrupt", syscall.SIGTERM: "terminated"}[tc.sig] + " signal received",
				"vmfsbench run: some cells failed: interrupted; continue with: vmfsbench run --resume " + out + "\n",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if code != exitFailed {
				t.Errorf("exit %d, want %d", code, exitFailed)
			}
			if d := time.Since(t0); d > 15*time.Second {
				t.Errorf("vmfsbench took %s to stop after the signal", d)
			}
			assertClean(t, tmp, out, pgids)
			cells, err := results.FinishedCells(out)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cells["9p/asis/r1"]; ok {
				t.Errorf("the interrupted cell has a result: --resume would not run it again")
			}
			if tc.only == nil {
				if c := cells["squashfs/asis/r1"]; len(cells) != 1 || c == nil || c.Status != results.StatusOK {
					t.Fatalf("finished cells %v, want squashfs's, ok", cells)
				}
				stamp := cells["squashfs/asis/r1"].End
				// The resumed run runs the interrupted cell only; its workload times out.
				r := startCLI(t, dir, env, "run", "--resume", out)
				code := r.wait(t, 6*time.Minute)
				if code != exitFailed || !strings.Contains(r.stdout.String(), "1 cells already had results and were not run again") {
					t.Errorf("resume: exit %d\n%s%s", code, r.stdout.String(), r.stderr.String())
				}
				all, err := results.FinishedCells(out)
				if err != nil {
					t.Fatal(err)
				}
				if len(all) != 2 || !all["squashfs/asis/r1"].End.Equal(stamp) ||
					all["9p/asis/r1"] == nil || all["9p/asis/r1"].Error != "workload: agent: workload timed out after 5s and was killed" {
					t.Errorf("after resume: %d cells, 9p: %+v", len(all), all["9p/asis/r1"])
				}
				assertClean(t, tmp, out, nil)
			}
		})
	}
}

// TestToolMissing runs vmfsbench with a PATH that lacks a tool some cell needs: it exits 2
// naming the tool, its package and the cells that need it, before it writes or starts
// anything.
func TestToolMissing(t *testing.T) {
	dir := t.TempDir()
	bin := t.TempDir()
	for _, tool := range []string{"qemu-system-x86_64", "mkfs.ext4", "mkfs.erofs", "go"} {
		p := testenv.Tool(t, tool)[0]
		must(t, os.Symlink(p, filepath.Join(bin, tool)))
	}
	for _, tc := range []struct {
		name, methods, want string
	}{
		{"mksquashfs", "squashfs: {compression: [none, lz4]}, 9p: {}, erofs: {}",
			"vmfsbench run: missing host tools:\n  mksquashfs is not on PATH (Debian package squashfs-tools); needed by squashfs.compression=none/asis/r1, squashfs.compression=lz4/asis/r1\n"},
		{"debugfs, which ext4 runs besides mkfs.ext4", "ext4: {}",
			"vmfsbench run: missing host tools:\n  debugfs is not on PATH (Debian package e2fsprogs); needed by ext4/asis/r1\n"},
		{"the virtiofs daemon named by path", "virtiofs: {daemon: /nonexistent/virtiofsd}",
			"/nonexistent/virtiofsd does not exist; needed by virtiofs.daemon=/nonexistent/virtiofsd/asis/r1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, env := privateTmp(t)
			specFile := writeSpec(t, dir, "tools", tc.methods, "{builtin: stat-all, timeout: 5m}")
			out := filepath.Join(t.TempDir(), "run")
			c := startCLI(t, dir, append(env, "PATH="+bin), "run", specFile, "-o", out)
			if code := c.wait(t, time.Minute); code != exitUsage || !strings.Contains(c.stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to hold:\n%s", code, exitUsage, c.stderr.String(), tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("the run directory was made: %v", err)
			}
			assertClean(t, tmp, out, nil)
		})
	}
}

// buildFailed is the 1 MiB ext4 cell's failure, built by the host's mkfs.ext4 or by a fetched
// e2fsprogs' mke2fs (the tar route, when a test before fetched it into the cache).
var buildFailed = regexp.MustCompile(`ext4\.size=1MiB/asis/r1 FAILED: build-image: (mkfs\.ext4|mke2fs): exit status 1`)

// TestFailFast: a cell whose image cannot be built fails; without --fail-fast the next cell
// still runs (and succeeds) and vmfsbench exits 1; with --fail-fast nothing runs after the
// failure and vmfsbench exits 1.
func TestFailFast(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	specFile := writeSpec(t, dir, "failfast", "ext4: {size: [1MiB, auto]}", "{builtin: stat-all, timeout: 5m}")
	for _, tc := range []struct {
		name  string
		flags []string
		cells int
	}{
		{"keep going", nil, 2},
		{"fail fast", []string{"--fail-fast"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, env := privateTmp(t)
			out := filepath.Join(t.TempDir(), "run")
			c := startCLI(t, dir, env, append([]string{"run", specFile, "-o", out}, tc.flags...)...)
			code := c.wait(t, 6*time.Minute)
			stderr := c.stderr.String()
			if code != exitFailed || !buildFailed.MatchString(stderr) ||
				!strings.HasSuffix(stderr, "vmfsbench run: some cells failed\n") {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailed, stderr)
			}
			assertClean(t, tmp, out, nil)
			cells, err := results.FinishedCells(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(cells) != tc.cells {
				t.Fatalf("%d results, want %d", len(cells), tc.cells)
			}
			if tc.cells == 2 {
				if c := cells["ext4.size=auto/asis/r1"]; c == nil || c.Status != results.StatusOK {
					t.Errorf("the cell after the failure: %+v", c)
				}
				resumeFailed(t, out, cells["ext4.size=1MiB/asis/r1"])
			} else if strings.Contains(stderr, "ext4.size=auto") {
				t.Errorf("--fail-fast started the next cell:\n%s", stderr)
			}
		})
	}
}

// resumeFailed resumes the run in out, whose cell failed failed and whose other cells are
// ok: the resume runs nothing and still exits 1, as the run holds a failed cell; with
// --retry-failed it runs the failed cell again (no guest: it fails in its image build) and
// exits 1.
func resumeFailed(t *testing.T, out string, failed *results.Cell) {
	t.Helper()
	code, stdout, stderr := runCLI(t, "run", "--resume", out)
	if code != exitFailed || !strings.Contains(stderr, "1 cells of the run in "+out+" did not succeed") ||
		!strings.Contains(stdout, "2 cells already had results and were not run again") {
		t.Errorf("resume of a run with a failed cell: exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitFailed, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "run", "--resume", out, "--retry-failed")
	again, err := results.FinishedCells(out)
	if err != nil {
		t.Fatal(err)
	}
	if c := again[failed.ID]; code != exitFailed || c.Status != results.StatusFailed || !c.Start.After(failed.Start) ||
		!strings.Contains(stdout, "1 cells already had results") {
		t.Errorf("resume --retry-failed: exit %d, cell %s started %v (before %v); stdout:\n%s\nstderr:\n%s", code, c.Status, c.Start, failed.Start, stdout, stderr)
	}
}

// TestReportNotWritten: a run whose report cannot be written (here report.md is a
// directory; on a host, a full or failing results disk) says so and names no report, where it
// used to print the report's path. The one cell fails at its image build: no guest boots.
func TestReportNotWritten(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	specFile := writeSpec(t, dir, "noreport", "ext4: {size: 1MiB}", "{builtin: stat-all, timeout: 5m}")
	out := filepath.Join(t.TempDir(), "run")
	report := filepath.Join(out, results.ReportFile)
	code, stdout, stderr := runCLI(t, "run", specFile, "-o", out)
	if code != exitFailed || !strings.Contains(stdout, "report    "+report+"\n") {
		t.Fatalf("first run: exit %d\n%s%s", code, stdout, stderr)
	}
	must(t, os.Remove(report))
	must(t, os.MkdirAll(filepath.Join(report, "in-the-way"), 0o755))
	// (Its exit code is the run's: 1 for the cell that failed, not 2 for the report.)
	code, stdout, stderr = runCLI(t, "run", "--resume", out)
	if code != exitFailed || strings.Contains(stdout, "report    ") || strings.Contains(stdout, "chart     ") ||
		!strings.Contains(stderr, "vmfsbench run: no report written: ") || !strings.Contains(stderr, "once that is mended: vmfsbench report "+out+"\n") {
		t.Errorf("resume that cannot write its report: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestTwoRunsAtOnce starts two runs of one spec at the same moment, from one directory,
// without -o, sharing one TMPDIR and an empty vmfsbench cache (but for the kernel): both
// generate the synthetic tree, build the agent and the initramfs, pick sockets and a port for
// ssh-tar, and write results. Both must succeed, in two run directories.
func TestTwoRunsAtOnce(t *testing.T) {
	needGuest(t)
	dir := t.TempDir()
	cache := filepath.Join(t.TempDir(), "cache")
	real, err := os.UserCacheDir()
	must(t, err)
	must(t, os.MkdirAll(filepath.Join(cache, "vmfsbench"), 0o755))
	must(t, os.Symlink(filepath.Join(real, "vmfsbench", "kernels"), filepath.Join(cache, "vmfsbench", "kernels")))
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	must(t, err)
	specFile := writeSpec(t, dir, "twice", "ssh-tar: {}", "{builtin: read-all, timeout: 5m}")
	tmp, env := privateTmp(t)
	env = append(env, "XDG_CACHE_HOME="+cache, "GOCACHE="+strings.TrimSpace(string(gocache)))
	var runs [2]*cli
	for i := range runs {
		runs[i] = startCLI(t, dir, env, "run", specFile)
	}
	outs := map[string]bool{}
	for i, c := range runs {
		code := c.wait(t, 10*time.Minute)
		stdout := c.stdout.String()
		t.Logf("run %d: exit %d\n%s", i, code, stdout)
		if code != exitOK {
			t.Errorf("run %d: exit %d; stderr:\n%s", i, code, c.stderr.String())
		}
		_, after, ok := strings.Cut(stdout, "results in ")
		out, _, _ := strings.Cut(after, "\n")
		if !ok || !strings.HasPrefix(out, filepath.Join(dir, "results", "runs", "twice")+"/") {
			t.Errorf("run %d: results in %q", i, out)
			continue
		}
		outs[out] = true
		cells, err := results.FinishedCells(out)
		if err != nil || len(cells) != 1 || cells["ssh-tar/asis/r1"].Status != results.StatusOK {
			t.Errorf("run %d: cells %v %v", i, cells, err)
		}
	}
	for out := range outs {
		assertClean(t, tmp, out, nil)
	}
	if len(outs) != 2 {
		t.Errorf("the runs wrote to %d directories, want 2: %v", len(outs), outs)
	}
}

// TestOnlyMatchesNothing: an --only glob that selects no cell is bad input (exit 2), not an
// empty successful run.
func TestOnlyMatchesNothing(t *testing.T) {
	dir := t.TempDir()
	specFile := writeSpec(t, dir, "only", "9p: {}", "{builtin: stat-all, timeout: 5m}")
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runCLI(t, "run", specFile, "-o", out, "--only", "9p*")
	want := `vmfsbench run: --only "9p*" matches no cell of ` + specFile + " (a * does not match a /; cell IDs look like 9p/asis/r1)\n"
	if code != exitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, exitUsage, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the run directory was made: %v", err)
	}
}

// TestDemoLeavesHostTreeUntouched runs the whole demo matrix (every method, both host cache
// states, --verify) and hashes the demo's tree before and after: contents, modes, owners,
// sizes, link counts and modification times must not change. It takes about two minutes
// more than the rest under TCG, so it runs with VMFSBENCH_FAULTS_LONG=1 (make test-faults).
func TestDemoLeavesHostTreeUntouched(t *testing.T) {
	testenv.OptIn(t, "VMFSBENCH_FAULTS_LONG", "the full demo matrix (make test-faults)")
	needGuest(t)
	if os.Geteuid() != 0 {
		t.Fatal("the demo's cache states and virtiofsd need root")
	}
	demo, err := filepath.Abs("../../../specs/demo.yaml")
	must(t, err)
	code, stdout, stderr := runCLI(t, "digest", demo)
	if code != 0 {
		t.Fatalf("digest: exit %d: %s", code, stderr)
	}
	_, after, _ := strings.Cut(stdout, "tree      ")
	root, _, _ := strings.Cut(after, "\n")
	before := treeHash(t, root)
	tmp, env := privateTmp(t)
	out := filepath.Join(t.TempDir(), "run")
	c := startCLI(t, t.TempDir(), env, "run", "--verify", demo, "-o", out)
	if code := c.wait(t, 15*time.Minute); code != exitOK {
		t.Errorf("demo: exit %d\n%s%s", code, c.stdout.String(), c.stderr.String())
	}
	t.Logf("%s", c.stdout.String())
	cells, err := results.FinishedCells(out)
	if err != nil || len(cells) != 14 {
		t.Errorf("%d cells (%v), want 14", len(cells), err)
	}
	assertClean(t, tmp, out, nil)
	if got := treeHash(t, root); got != before {
		d := tree.StatListDiff(strings.Split(before, "\n"), strings.Split(got, "\n"), 20)
		t.Errorf("the demo tree %s changed:\n%s", root, strings.Join(d, "\n"))
	}
}

// treeHash is the full stat listing of every entry under root, excluded ones too
// (tree.StatList: content, modes, owners, sizes, link counts, modification and change times).
func treeHash(t *testing.T, root string) string {
	t.Helper()
	l, err := tree.StatList(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(l, "\n")
}
