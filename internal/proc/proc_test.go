package proc

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandKillsTheGroup: cancelling the context kills the command and the child it forked.
func TestCommandKillsTheGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pidFile := t.TempDir() + "/pid"
	cmd := Command(ctx, "sh", "-c", "sleep 30 & echo $! > "+pidFile+"; wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var child int
	for range 100 {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 1 {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("the child did not start")
	}
	if pgid, _ := syscall.Getpgid(cmd.Process.Pid); pgid != cmd.Process.Pid {
		t.Errorf("pgid %d, want the command's own pid %d", pgid, cmd.Process.Pid)
	}
	cancel()
	cmd.Wait()
	for range 100 {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return // gone, or a zombie waiting for a reaper
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("grandchild %d survived the cancel", child)
}
