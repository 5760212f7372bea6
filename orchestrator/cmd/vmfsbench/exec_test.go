package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
)

// execRun is one `vmfsbench exec` or `lit` process whose stdout lines are timed as they come.
type execRun struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	mu     sync.Mutex
	lines  []string
	at     []time.Time
	done   chan struct{}
	code   int
}

func startExec(t *testing.T, dir string, env []string, argv ...string) *execRun {
	t.Helper()
	r := &execRun{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	r.cmd.Dir, r.cmd.Env, r.cmd.Stderr = dir, append(os.Environ(), env...), &r.stderr
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.mu.Lock()
			r.lines, r.at = append(r.lines, sc.Text()), append(r.at, time.Now())
			r.mu.Unlock()
		}
		var ee *exec.ExitError
		if err := r.cmd.Wait(); errors.As(err, &ee) {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
		}
	}()
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done })
	return r
}

// wait returns the exit code and the stdout lines, with the time each came.
func (r *execRun) wait(t *testing.T, d time.Duration) (int, []string, []time.Time) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("%v did not end within %s:\n%s", r.cmd.Args, d, r.stderr.String())
	}
	return r.code, r.lines, r.at
}

// saw says whether stdout has had the line s.
func (r *execRun) saw(s string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestExec runs commands in guests of a small spec through `vmfsbench exec` and `vmfsbench
// lit` (4 boots of an x86_64 guest, about 2-4 minutes on a loaded host):
//   - over erofs, a command that writes everywhere it can: its stdout arrives line by line
//     while it runs, its stderr apart, its status 0; the image is built and kept; the host tree
//     is unchanged;
//   - again on the unchanged tree: the image is reused, the guest sees none of the first
//     command's writes, status 3;
//   - after a tree file changed, LLVM's build's way: python3 runs the wrapper of `vmfsbench lit
//     --wrapper` from the build's test directory with host paths; the image is rebuilt, the
//     tree's own bin/llvm-lit (a shell script here) runs in the mapped directory with mapped
//     arguments, sees the new content, and its status 1 is vmfsbench's;
//   - over 9p, SIGINT while the command runs: exit 2, and no process, exec directory or
//     temporary file is left.
func TestExec(t *testing.T) {
	needGuest(t)
	testenv.Tool(t, "python3") // runs the lit wrapper, as LLVM's build does
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	files := map[string]string{
		"sub/a.txt":      "hello\n",
		"b.txt":          "b\n",
		"build/test/cfg": "lit config\n",
		"build/bin/llvm-lit": `#!/bin/busybox sh
echo "cwd=$(pwd)"
for a in "$@"; do echo "arg=$a"; done
echo "a=$(cat ../../sub/a.txt)"
exit 1
`,
	}
	for name, content := range files {
		must(t, os.MkdirAll(filepath.Join(proj, filepath.Dir(name)), 0o755))
		must(t, os.WriteFile(filepath.Join(proj, name), []byte(content), 0o755))
	}
	name := fmt.Sprintf("exectest-%08x", rand.Uint32())
	specFile := filepath.Join(dir, "exec.yaml")
	must(t, os.WriteFile(specFile, []byte(`version: 1
name: `+name+`
tree: {path: proj}
guest: {mountpoint: /work/proj}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: {builtin: read-all, timeout: 5m}
methods: [erofs: {}, 9p: {}]
`), 0o644))
	cache, err := kernel.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	images := filepath.Join(cache, "images", name)
	t.Cleanup(func() { os.RemoveAll(images) })
	bin := cliBinary(t)
	tmp, env := privateTmp(t)
	before := treeHash(t, proj)

	// 1: live output, stdout and stderr apart, writes everywhere, status 0.
	r := startExec(t, dir, env, bin, "exec", specFile, "--method", "erofs", "--",
		"/bin/busybox", "sh", "-c", `cat sub/a.txt; echo to-stderr >&2
for f in $(/bin/busybox find . -type f); do echo x >> $f; done; /bin/busybox rm b.txt; echo new > c.txt; /bin/busybox chmod 600 sub/a.txt
echo first; /bin/busybox sleep 8; echo second`)
	code, lines, at := r.wait(t, 8*time.Minute)
	t.Logf("exec 1: exit %d, stdout %q\n%s", code, lines, r.stderr.String())
	if code != 0 || strings.Join(lines, ",") != "hello,first,second" {
		t.Fatalf("exit %d, stdout %q; want 0 and hello, first, second", code, lines)
	}
	if gap := at[2].Sub(at[1]); gap < 4*time.Second {
		t.Errorf("first came %s before second, want the 8 s the command slept between: the output is not live", gap)
	}
	if e := r.stderr.String(); !strings.Contains(e, "to-stderr\n") || !strings.Contains(e, "built the tree.erofs image") {
		t.Errorf("stderr lacks the command's line or the image build's note:\n%s", e)
	}
	if after := treeHash(t, proj); after != before {
		t.Errorf("the host tree changed:\nbefore\n%s\nafter\n%s", before, after)
	}

	// 2: the unchanged tree reuses the image; the first command's writes are gone.
	r = startExec(t, dir, env, bin, "exec", specFile, "--method", "erofs", "--cwd", "sub", "--",
		"/bin/busybox", "sh", "-c", "cat a.txt; cat ../b.txt; exit 3")
	code, lines, _ = r.wait(t, 8*time.Minute)
	t.Logf("exec 2: exit %d, stdout %q\n%s", code, lines, r.stderr.String())
	if code != 3 || strings.Join(lines, ",") != "hello,b" {
		t.Errorf("exit %d, stdout %q; want 3 and the tree as on the host", code, lines)
	}
	if e := r.stderr.String(); !strings.Contains(e, "reused the tree.erofs image") || strings.Contains(e, "built the") {
		t.Errorf("the image was not reused:\n%s", e)
	}

	// 3: a changed tree, through the lit wrapper as LLVM's build runs it.
	must(t, os.WriteFile(filepath.Join(proj, "sub/a.txt"), []byte("changed\n"), 0o644))
	wrapper := filepath.Join(dir, "lit-wrapper.py")
	if c, out, errs := runBin(t, bin, "lit", specFile, "--method", "erofs", "--wrapper", wrapper); c != 0 {
		t.Fatalf("--wrapper: exit %d\n%s%s", c, out, errs)
	}
	r = startExec(t, filepath.Join(proj, "build/test"), env, "python3", wrapper, "-sv", "--param", "x=1",
		filepath.Join(proj, "build/test"), "--config-prefix="+filepath.Join(proj, "build/test/cfg"))
	code, lines, _ = r.wait(t, 8*time.Minute)
	t.Logf("lit: exit %d, stdout %q\n%s", code, lines, r.stderr.String())
	want := "cwd=/work/proj/build/test,arg=-sv,arg=--param,arg=x=1,arg=/work/proj/build/test,arg=--config-prefix=/work/proj/build/test/cfg,a=changed"
	if code != 1 || strings.Join(lines, ",") != want {
		t.Errorf("exit %d, stdout %q; want 1 and %s", code, lines, want)
	}
	if e := r.stderr.String(); !strings.Contains(e, "built the tree.erofs image") {
		t.Errorf("the changed tree's image was not rebuilt:\n%s", e)
	}
	if ents, _ := os.ReadDir(filepath.Join(images, "erofs")); len(ents) != 2 {
		t.Errorf("%d images kept, want 2 (one per tree state)", len(ents))
	}

	// 4: SIGINT while the command runs.
	r = startExec(t, dir, env, bin, "exec", specFile, "--method", "9p", "--", "/bin/busybox", "sh", "-c", "echo started; exec /bin/busybox sleep 600")
	for end := time.Now().Add(8 * time.Minute); !r.saw("started"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the command never started:\n%s", r.stderr.String())
		}
	}
	_, pgids := processes(proj)
	if len(pgids) == 0 {
		t.Fatal("no process mentions the tree while the 9p guest runs")
	}
	r.cmd.Process.Signal(syscall.SIGINT)
	code, _, _ = r.wait(t, time.Minute)
	t.Logf("interrupted: exit %d\n%s", code, r.stderr.String())
	if code != exitUsage || !strings.Contains(r.stderr.String(), "vmfsbench exec: interrupted") {
		t.Errorf("exit %d after SIGINT, want %d and a message", code, exitUsage)
	}
	assertClean(t, tmp, proj, pgids)
	if m, _ := filepath.Glob(filepath.Join(cache, "exec", "vmfsbench."+name+".*")); len(m) > 0 {
		t.Errorf("exec directories left: %v", m)
	}
}
