package run

import (
	"os/exec"
	"testing"
)

// TestCrashed: a process a crash signal ended (an assertion inside QEMU aborts it) is a
// crash, so the cell boots again; one that exited with a status (a bad option) or was
// terminated is not.
func TestCrashed(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   bool
	}{
		{"kill -ABRT $$", true},
		{"kill -SEGV $$", true},
		{"kill -TERM $$", false},
		{"exit 1", false},
		{"exit 0", false},
	} {
		err := exec.Command("sh", "-c", tc.script).Run()
		if got := crashed(err); got != tc.want {
			t.Errorf("%s: crashed %v, want %v (%v)", tc.script, got, tc.want, err)
		}
	}
}
