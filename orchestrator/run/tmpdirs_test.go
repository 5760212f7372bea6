package run

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
			if err := os.WriteFile(filepath.Join(dir, tempOwner), []byte(owner), 0o644); err != nil {
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

	dir, err := MkdirTemp()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != tmp || !strings.HasPrefix(filepath.Base(dir), TempPrefix) {
		t.Errorf("MkdirTemp made %s, want %s/%s*", dir, tmp, TempPrefix)
	}
	owner, err := os.ReadFile(filepath.Join(dir, tempOwner))
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
	if removed := RemoveStaleTemp(tmp); len(removed) != 0 || slices.Contains(removed, dir) {
		t.Errorf("removed %v", removed)
	}
}
