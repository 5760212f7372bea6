package tmpdir

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestStaleTempDirs (finding 8): the vmfsbench.* directory of a dead process (a run killed
// by SIGKILL leaves one, with its sockets) is removed when the next run makes its own; those
// of live processes, of a pid now reused by another process, and those without a recorded
// pid stay.
func TestStaleTempDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := dead.ProcessState.Pid()
	mk := func(name, owner string) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "cell", "sock"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	stale := mk("vmfsbench.dead1", fmt.Sprintf("%d\n", deadPID))
	staleStart := mk("vmfsbench.dead2", fmt.Sprintf("%d 12345\n", deadPID))
	live := mk("vmfsbench.live", fmt.Sprintf("%d %s\n", os.Getpid(), procStart(os.Getpid())))
	liveNoStart := mk("vmfsbench.live2", fmt.Sprintf("%d\n", os.Getpid()))
	reused := mk("vmfsbench.reused", fmt.Sprintf("%d 1\n", os.Getpid())) // our pid, another start: its process is dead
	unknown := mk("vmfsbench.unknown", "")
	other := mk("other.dir", fmt.Sprintf("%d\n", deadPID))

	dir, err := Make("")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != tmp || !strings.HasPrefix(filepath.Base(dir), Prefix) {
		t.Errorf("Make made %s, want %s/%s*", dir, tmp, Prefix)
	}
	owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil || !strings.HasPrefix(string(owner), fmt.Sprintf("%d ", os.Getpid())) {
		t.Errorf("owner file %q, %v", owner, err)
	}
	for _, d := range []string{stale, staleStart, reused} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s not removed (%v)", d, err)
		}
	}
	for _, d := range []string{live, liveNoStart, unknown, other, dir} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
	// Our own, now recorded, is not stale while we live.
	if removed := RemoveStale(tmp); len(removed) != 0 || slices.Contains(removed, dir) {
		t.Errorf("removed %v", removed)
	}
}

// TestEveryTempDirKnown: no code of vmfsbench but this package makes a directory in the
// system's temporary directory, so every one carries Prefix and its maker's pid, and stale
// cleanup removes it after a kill (an ext4 build's view, a KVM probe, a rootfs mount point
// once leaked for good as vmfsbench-ext4-view-*, vmfsbench-kvm-probe.*, vmfsbench-rootfs-*).
func TestEveryTempDirKnown(t *testing.T) {
	root := filepath.Join("..", "..")
	direct := regexp.MustCompile(`os\.MkdirTemp\((""|os\.TempDir\(\))`)
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || filepath.Base(p) == "tmpdir.go" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, l := range strings.Split(string(data), "\n") {
			if direct.MatchString(l) {
				found = append(found, fmt.Sprintf("%s:%d: %s", p, i+1, strings.TrimSpace(l)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("temporary directories made outside package tmpdir, unknown to stale cleanup:\n%s", strings.Join(found, "\n"))
	}
}

// TestStaleNamedDirAfterKill: a process killed by SIGKILL right after making a named
// directory (as during an ext4 build through its view) leaves it, and the next Make removes it.
func TestStaleNamedDirAfterKill(t *testing.T) {
	if os.Getenv("VMFSBENCH_TMPDIR_CHILD") != "" {
		dir, err := Make("ext4-view")
		if err != nil {
			os.Exit(1)
		}
		fmt.Println(dir)
		select {} // until killed
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cmd := exec.Command(os.Args[0], "-test.run=^TestStaleNamedDirAfterKill$")
	cmd.Env = append(os.Environ(), "VMFSBENCH_TMPDIR_CHILD=1", "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	left := strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(filepath.Base(left), Prefix+"ext4-view.") {
		t.Fatalf("the child made %q (%v)", left, err)
	}
	if _, err := os.Stat(left); err != nil {
		t.Fatal(err)
	}
	mine, err := Make("kvm-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("%s of the killed process is still there (%v)", left, err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error(err)
	}
}

// TestMakeIn makes the directory in the given parent, not in TMPDIR, recording its maker.
func TestMakeIn(t *testing.T) {
	parent := t.TempDir()
	dir, err := MakeIn(parent, "exec")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != parent || !strings.HasPrefix(filepath.Base(dir), Prefix+"exec.") {
		t.Errorf("made %s, want %s/%sexec.*", dir, parent, Prefix)
	}
	if _, err := os.Stat(filepath.Join(dir, ownerFile)); err != nil {
		t.Errorf("no owner file: %v", err)
	}
}
