package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

// The fault catalogue at the runner's level: each case runs a spec's cells through Run and
// asserts the error in the cell result and in the progress output (what `vmfsbench run`
// prints on stderr), that no process of the cell is left (by command line and by process
// group), that the run's temporary files, sockets and images are gone, that the results of
// the cells that finished are on disk, and that the host tree is as it was. The CLI's faults
// (signals, a missing tool, --fail-fast, concurrent runs) are in cmd/vmfsbench/faults_test.go;
// the guest faults the runner already had (kernel panic, agent panic or hang, a guest that
// never reports) in guest_test.go, a dying virtiofsd in virtiofs_test.go.

// faultSpec is a spec of the given methods over a small synthetic tree with the seed's
// exclusions; rest sets the workload and anything else.
func faultSpec(name, methods, rest string) string {
	return `version: 1
name: ` + name + `
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
cache: [asis]
methods: [` + methods + `]
` + rest
}

const faultTree = `tree:
  synthetic: {files: 500, bytes: 2MiB, seed: 23}
  exclude: [.git, "build/*", "!build/stage2cross"]
`

// faultRun is the outcome of one runFault.
type faultRun struct {
	r        *testRunner
	cells    []*results.Cell
	runErr   error
	progress string
	out      string
}

// faultOpts are the choices of a runFault.
type faultOpts struct {
	out   string            // the run directory; "" for a new one
	setup func(*testRunner) // called before the cells run
	// during runs in its own goroutine while the cells run and must return once stop is
	// closed, which happens when Run returns.
	during func(r *testRunner, stop <-chan struct{})
}

// runFault runs every cell of specYAML with Run, TMPDIR pointing at a directory of its own
// so that every socket and temporary file of the run is found there, and checks what every
// fault case must hold afterwards.
func runFault(t *testing.T, specYAML string, o faultOpts) faultRun {
	t.Helper()
	dir := t.TempDir()
	tmp := isolateTmp(t)
	file := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(file, []byte(specYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := spec.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	out := o.out
	if out == "" {
		out = filepath.Join(dir, "out")
	}
	if err := PrepareOut(out, file); err != nil {
		t.Fatal(err)
	}
	var progress syncBuffer
	ctx := context.Background()
	r, err := newTestRunner(ctx, e, out, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if o.setup != nil {
		o.setup(r)
	}
	before := hostState(t, r.Host.Tree)
	cells, err := r.cells()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	if o.during != nil {
		wg.Add(1)
		go func() { defer wg.Done(); o.during(r, stop) }()
	}
	fr := faultRun{r: r, out: out}
	fr.cells, fr.runErr = r.Run(ctx, cells, Selection{})
	close(stop)
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Errorf("closing the runner: %v", err)
	}
	fr.progress = progress.String()
	for _, res := range fr.cells {
		t.Logf("cell %s: %s %s (wall %.1fs)", res.ID, res.Status, res.Error, res.Wall)
		if res.Error != "" && !strings.Contains(fr.progress, res.ID+" FAILED: "+res.Error) {
			t.Errorf("the progress output does not report %s's error %q:\n%s", res.ID, res.Error, fr.progress)
		}
		if _, err := results.ReadCell(filepath.Join(out, "cells", plan.FileName(res.ID)+".json")); err != nil {
			t.Errorf("the result of %s is not on disk: %v", res.ID, err)
		}
	}
	assertNoLeftovers(t, tmp, out)
	assertTreeUnchanged(t, r.Host.Tree, before)
	return fr
}

// isolateTmp points TMPDIR at a new, short directory of its own (sockets need short paths)
// for the rest of the test and returns it.
func isolateTmp(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "vf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp)
	return tmp
}

// assertNoLeftovers checks that no process mentions the run's temporary or output directory,
// that the temporary directory is empty and the output has no work directory left.
func assertNoLeftovers(t *testing.T, tmp, out string) {
	t.Helper()
	for _, d := range []string{tmp, out} {
		if left := processesMentioning(d); d != "" && len(left) > 0 {
			t.Errorf("processes left alive: %v", left)
		}
	}
	if ents, err := os.ReadDir(tmp); err != nil || len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("temporary files left in TMPDIR: %v %v", names, err)
	}
	if _, err := os.Stat(filepath.Join(out, "work")); out != "" && !os.IsNotExist(err) {
		w, _ := filepath.Glob(filepath.Join(out, "work", "*", "*"))
		t.Errorf("work directory left (%v): %v", err, w)
	}
}

// syncBuffer is a bytes.Buffer safe for the progress display's writes from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hostState is the tree's full stat listing (tree.StatList): content, modes, owners, sizes,
// link counts, modification and change times of every entry, excluded ones too.
func hostState(t *testing.T, root string) []string {
	t.Helper()
	l, err := tree.StatList(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// assertTreeUnchanged fails t with the differing lines when root's listing is not before.
func assertTreeUnchanged(t *testing.T, root string, before []string) {
	t.Helper()
	if d := tree.StatListDiff(before, hostState(t, root), 20); d != nil {
		t.Errorf("the host tree %s changed:\n%s", root, strings.Join(d, "\n"))
	}
}

// groupMembers lists the live (not zombie) processes of process group pgid.
func groupMembers(pgid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold blanks, so split after its ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, e.Name()+" "+s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return out
}

// killAtWorkload sends sig to the processes whose command line mentions r's socket directory
// (QEMU, daemons) each time a cell of r reports its workload's start, until stop is closed,
// and returns the pids signalled and their process groups.
func killAtWorkload(r *testRunner, stop <-chan struct{}, sig syscall.Signal) (pids, pgids []int) {
	done := map[string]bool{} // events files of cells already handled
	for {
		select {
		case <-stop:
			return pids, pgids
		case <-time.After(20 * time.Millisecond):
		}
		evs, _ := filepath.Glob(filepath.Join(r.Dirs.Run, "logs", "*", EventsFile))
		for _, f := range evs {
			if b, _ := os.ReadFile(f); done[f] || !strings.Contains(string(b), `"step":"workload"`) {
				continue
			}
			done[f] = true
			for _, p := range processesMentioning(r.Dirs.Sockets) {
				pid, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0])
				if err != nil {
					continue
				}
				if pg, err := syscall.Getpgid(pid); err == nil {
					pgids = append(pgids, pg)
				}
				pids = append(pids, pid)
				syscall.Kill(pid, sig)
			}
		}
	}
}

// hangingWorkload runs for ten minutes in the guest, longer than any case waits.
const hangingWorkload = `workload: {command: [/bin/busybox, sleep, "600"], timeout: %s}
`

// TestFaultQEMUKilledMidWorkload SIGKILLs QEMU while the guest runs its workload, in each of
// two cells: each fails at once saying that QEMU was killed, in status error (the host
// failed it, not the method), and the failure of the first does not keep the second from
// running.
func TestFaultQEMUKilledMidWorkload(t *testing.T) {
	needGuest(t)
	var pgids, pids []int
	start := time.Now()
	fr := runFault(t, faultSpec("qemu-killed", "9p: {cache: [loose, none]}", faultTree+fmt.Sprintf(hangingWorkload, "5m")),
		faultOpts{during: func(r *testRunner, stop <-chan struct{}) { pids, pgids = killAtWorkload(r, stop, syscall.SIGKILL) }})
	t.Logf("killed %v (process groups %v)", pids, pgids)
	if len(pids) != 2 || len(fr.cells) != 2 {
		t.Fatalf("killed %d processes, %d cell results; want 2 of each", len(pids), len(fr.cells))
	}
	want := "workload: the guest stopped reporting before the workload (timeout 5m0s); qemu exited (qemu-system-x86_64 (pid "
	for i, c := range fr.cells {
		if c.Status != results.StatusError || !strings.HasPrefix(c.Error, want) ||
			!strings.Contains(c.Error, fmt.Sprintf("(pid %d): signal: killed)", pids[i])) {
			t.Errorf("%s: error %q, want %q with pid %d killed", c.ID, c.Error, want, pids[i])
		}
	}
	if fr.runErr != nil {
		t.Errorf("Run: %v", fr.runErr)
	}
	for _, pg := range pgids {
		if m := groupMembers(pg); len(m) > 0 {
			t.Errorf("process group %d still has processes: %v", pg, m)
		}
	}
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("took %s", d)
	}
}

// TestFaultWorkloadHangs: a workload that never ends is killed by the agent at the
// workload's timeout and the cell fails saying so.
func TestFaultWorkloadHangs(t *testing.T) {
	needGuest(t)
	start := time.Now()
	fr := runFault(t, faultSpec("hang", "virtiofs: {}", faultTree+fmt.Sprintf(hangingWorkload, "5s")), faultOpts{})
	if len(fr.cells) != 1 {
		t.Fatalf("%d results", len(fr.cells))
	}
	c := fr.cells[0]
	if want := "workload: agent: workload timed out after 5s and was killed"; c.Status != results.StatusFailed || c.Error != want {
		t.Errorf("error %q, want %q", c.Error, want)
	}
	if w := c.Phases["workload"]; w < 5 || w > 15 {
		t.Errorf("workload phase %.1fs, want about the 5s timeout", w)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %s", d)
	}
}

// TestFaultImageBuildFails: an image tool that fails (an ext4 size too small for the tree)
// and an image that cannot be built (an excluded path with a newline, which mksquashfs's
// exclusion list cannot name, and which the tree survey announced before the run) fail their
// cells with the tool's own words; the partial image is removed with the work directory.
func TestFaultImageBuildFails(t *testing.T) {
	root := t.TempDir()
	for p, c := range map[string]string{"src/a.c": "int a;\n", "build/out\nput/x.o": "excluded\n", "build/stage2cross/bin/lit": "#!/bin/sh\n"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c+strings.Repeat("x", 2<<20)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fr := runFault(t, faultSpec("build-fails", "ext4: {size: 1MiB}, squashfs: {}", `tree:
  path: `+root+`
  exclude: [.git, "build/*", "!build/stage2cross"]
workload: {builtin: read-all, timeout: 5m}
`), faultOpts{})
	if len(fr.cells) != 2 {
		t.Fatalf("%d results, want 2", len(fr.cells))
	}
	// ext4 builds with the host's mkfs.ext4, or with the fetched mke2fs where the host's
	// reads no tar (Debian 12): either way the error names the tool, not its loader.
	mkfs := "mkfs.ext4"
	if strings.Contains(strings.Join(fr.cells[0].Commands[0].Argv, " "), "mke2fs") {
		mkfs = "mke2fs"
	}
	for i, want := range []string{
		"build-image: " + mkfs + ": exit status 1; its output ends: ",
		`build-image: squashfs exclusion list ` + filepath.Join(fr.out, "work", "squashfs__asis__r1", "exclude.list") +
			`: path "build/out\nput" holds a newline, which a mksquashfs exclusion list cannot name`,
	} {
		if c := fr.cells[i]; c.Status != results.StatusFailed || !strings.HasPrefix(c.Error, want) {
			t.Errorf("%s: error %q, want it to start with %q", c.ID, c.Error, want)
		}
	}
	if w := strings.Join(fr.cells[1].Warnings, "\n"); !strings.Contains(w, `1 excluded names with a newline ("build/out\nput" (directory)): an excluded path holding a newline: mksquashfs's exclusion list (-ef) is read a line at a time`) {
		t.Errorf("the squashfs cell's warnings do not announce the failure:\n%s", w)
	}
	if !strings.Contains(fr.progress, "tree: 1 excluded names with a newline") {
		t.Errorf("the run did not report the survey before the cells:\n%s", fr.progress)
	}
}

// TestFaultDiskFull runs the image methods, and 9p with its upper layer on a scratch disk,
// with the run directory on an 8 MiB tmpfs and a 16 MiB tree: each cell fails with "No space
// left on device" (the images in their build, 9p writing its initrd) in status error (the
// host's fault: --resume runs them again), the partial files are
// removed (the file system is empty again but for the results and logs), and each cell's
// result is still written.
func TestFaultDiskFull(t *testing.T) {
	testenv.Root(t, "mounting the disk-full case's small tmpfs")
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m,mode=0755"); err != nil {
		t.Fatalf("mount -t tmpfs -o size=8m: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	fr := runFault(t, faultSpec("disk-full", "squashfs: {compression: none}, erofs: {compression: none}, ext4: {}, 9p: {upper: disk}", `tree:
  synthetic: {files: 500, bytes: 16MiB, seed: 23}
workload: {builtin: stat-all, timeout: 5m}
`), faultOpts{out: filepath.Join(mnt, "out")})
	if len(fr.cells) != 4 {
		t.Fatalf("%d results, want 4", len(fr.cells))
	}
	for i, c := range fr.cells {
		// 9p's scratch disk is sparse and fits; the cell's initrd then does not.
		phase := map[bool]string{true: "initramfs: ", false: "build-image: "}[i == 3]
		if c.Status != results.StatusError || !strings.HasPrefix(c.Error, phase) ||
			!strings.Contains(strings.ToLower(c.Error), "no space left on device") {
			t.Errorf("%s: %s %q, want status error: a %sfailure for lack of space", c.ID, c.Status, c.Error, phase)
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	if used := int64(st.Blocks-st.Bfree) * st.Bsize; used > 1<<20 {
		t.Errorf("%d KiB still used on the tmpfs after the run: partial images left", used>>10)
	}
}

// TestPrepareOutOneWinner: of runs preparing one run directory at once, exactly one gets it;
// the others get ErrHoldsRun, and a directory that holds a run is never taken again.
func TestPrepareOutOneWinner(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results", "runs", "x", "20260101-000000")
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = PrepareOut(out, specFile) }()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrHoldsRun) || err.Error() != out+" already holds a run; choose another -o, or continue it with --resume "+out:
			t.Errorf("error %q", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d got the directory, want 1", won, len(errs))
	}
	if err := PrepareOut(out, specFile); !errors.Is(err, ErrHoldsRun) {
		t.Errorf("preparing it again: %v", err)
	}
}

// hostileWorkload is a root workload that tries every way it has to write the host tree: it
// remounts the read-only lower layer read-write, then creates, appends to, chmods, chowns,
// touches and removes entries there and under the mountpoint (the overlay or the copy, where
// writes are expected to land). It prints what it did and always exits 0.
const hostileWorkload = `workload:
  command:
    - /bin/busybox
    - sh
    - -c
    - |
      for L in /vmfsbench/lower "$PWD"; do
        [ -d "$L" ] || continue
        mount -o remount,rw "$L" 2>&1 && echo "remounted $L read-write"
        grep " $L " /proc/mounts
        echo pwned > "$L/victim" && echo "wrote $L/victim"
        f=$(find "$L" -type f | head -n 1)
        echo pwned >> "$f" && echo "appended to $f"
        chmod 0777 "$f"; chown 1:1 "$f"; touch "$f"
        d=$(find "$L" -mindepth 1 -type d | head -n 1)
        rm -rf "$d" 2>/dev/null && echo "removed $d"
        mkdir "$L/newdir" && echo "made $L/newdir"
        sync
      done
      true
  timeout: 5m
`

// TestFaultRootWorkloadWritesHostTree: a root workload tries to write the host tree through
// every method (hostileWorkload). Every cell ends ok, --verify's probe write to the read-only
// lower layer of the shares fails, and the host tree's full stat listing (content, modes,
// owners, times) is as before: the shares export a read-only view the guest cannot undo.
func TestFaultRootWorkloadWritesHostTree(t *testing.T) {
	needGuest(t)
	needVirtiofsd(t)
	root := t.TempDir()
	for p, c := range map[string]string{"victim": "original\n", "src/a.c": "int a;\n", "src/sub/b.c": "int b;\n", "docs/README": "read me\n"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fr := runFault(t, faultSpec("hostile", "9p: {}, virtiofs: {}, squashfs: {compression: none}, ext4: {}, erofs: {}, ssh-tar: {}, serial-tar: {}",
		"tree: {path: "+root+"}\n"+hostileWorkload), faultOpts{setup: func(r *testRunner) { r.Choices.Verify = true }})
	if len(fr.cells) != 7 {
		t.Fatalf("%d results, want 7", len(fr.cells))
	}
	for _, c := range fr.cells {
		out, _ := os.ReadFile(filepath.Join(fr.out, "logs", plan.FileName(c.ID), OutputFile))
		t.Logf("%s: workload output:\n%s", c.ID, out)
		if c.Status != results.StatusOK {
			t.Errorf("%s failed: %s", c.ID, c.Error)
			continue
		}
		if c.Verify == nil || c.Verify.WriteError != "" || (c.Verify.LowerChecked && c.Verify.LowerWriteError == "") {
			t.Errorf("%s: verify %+v: want a writable tree and a lower layer that refuses writes", c.ID, c.Verify)
		}
		if (c.Method == "9p" || c.Method == "virtiofs") && (c.Verify == nil || !c.Verify.LowerChecked) {
			t.Errorf("%s: the share's lower layer was not checked", c.ID)
		}
	}
}
