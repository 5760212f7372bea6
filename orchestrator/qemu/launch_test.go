package qemu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitPidFile waits for a child to write its pid to path.
func waitPidFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err == nil && bytes.HasSuffix(b, []byte("\n")) {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("pid file %s: %v", path, err)
			}
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pid written to %s within 5s", path)
	return 0
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	state, _, ok := procStat(strconv.Itoa(pid))
	return ok && state != 'Z' && state != 'X'
}

// eventually polls cond for up to 2 s, for processes nobody waits for: after
// SIGKILL the kernel needs a moment to tear a process down.
func eventually(cond func() bool) bool {
	for range 200 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

func TestStartCancelKillsGroup(t *testing.T) {
	for _, tt := range []struct {
		name       string
		argv       func(pidFile string) []string
		grandchild bool
	}{
		{name: "sleep", argv: func(string) []string { return []string{"sleep", "30"} }},
		{
			name:       "shell with a grandchild sleep",
			argv:       func(p string) []string { return []string{"sh", "-c", "sleep 30 & echo $! > " + p + "; wait"} },
			grandchild: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			var out bytes.Buffer
			vm, err := Start(ctx, tt.argv(pidFile), &out, &out)
			if err != nil {
				t.Fatal(err)
			}
			gpid := 0
			if tt.grandchild {
				gpid = waitPidFile(t, pidFile)
				if !pidAlive(gpid) {
					t.Fatalf("grandchild %d not running before the timeout", gpid)
				}
			}
			if !GroupAlive(vm.Pid()) {
				t.Fatalf("group %d not alive before the timeout", vm.Pid())
			}
			start := time.Now()
			err = vm.Wait()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait() = %v, want context.DeadlineExceeded", err)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Errorf("Wait() = %v, want an exit by SIGKILL", err)
			}
			// The pipes close when the group dies, so Wait does not sit out
			// the WaitDelay.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Wait took %s after the timeout", d)
			}
			if GroupAlive(vm.Pid()) {
				t.Errorf("process group %d still alive after the timeout", vm.Pid())
			}
			if gpid != 0 && pidAlive(gpid) {
				t.Errorf("grandchild %d survived", gpid)
			}
		})
	}
}

func TestKillKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	vm, err := Start(t.Context(), []string{"sh", "-c", "sleep 30 & echo $! > " + pidFile + "; wait"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gpid := waitPidFile(t, pidFile)
	if err := vm.Kill(); err != nil {
		t.Fatal(err)
	}
	err = vm.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || errors.Is(err, context.Canceled) {
		t.Errorf("Wait() = %v, want an exit error that is not a context error", err)
	}
	if GroupAlive(vm.Pid()) {
		t.Errorf("process group %d alive after Kill", vm.Pid())
	}
	if pidAlive(gpid) {
		t.Errorf("grandchild %d survived Kill", gpid)
	}
	if err := vm.Kill(); err != nil {
		t.Errorf("Kill after exit = %v, want nil", err)
	}
	if err2 := vm.Wait(); err2 != err {
		t.Errorf("second Wait() = %v, want %v", err2, err)
	}
}

// TestLeaderExitKillsLeftovers: when the leader exits on its own, what it
// left behind in its group is killed.
func TestLeaderExitKillsLeftovers(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	vm, err := Start(t.Context(), []string{"sh", "-c", "sleep 30 & echo $! > " + pidFile}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.Wait(); err != nil {
		t.Fatalf("Wait() = %v, want nil", err)
	}
	gpid := waitPidFile(t, pidFile)
	if pidAlive(gpid) {
		t.Errorf("leftover %d survived its leader", gpid)
	}
	if GroupAlive(vm.Pid()) {
		t.Errorf("process group %d alive after its leader exited", vm.Pid())
	}
}

// TestWaitDelay: a leftover holding stdout open cannot make Wait hang.
func TestWaitDelay(t *testing.T) {
	var out bytes.Buffer
	vm, err := Start(t.Context(), []string{"sh", "-c", "sleep 30 & echo hi"}, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = vm.Wait()
	if !errors.Is(err, exec.ErrWaitDelay) {
		t.Errorf("Wait() = %v, want exec.ErrWaitDelay", err)
	}
	if d := time.Since(start); d > waitDelay+2*time.Second {
		t.Errorf("Wait took %s, WaitDelay is %s", d, waitDelay)
	}
	if out.String() != "hi\n" {
		t.Errorf("stdout = %q, want %q", out.String(), "hi\n")
	}
	if GroupAlive(vm.Pid()) {
		t.Errorf("process group %d alive", vm.Pid())
	}
}

func TestStartOutputAndExitStatus(t *testing.T) {
	var stdout, stderr bytes.Buffer
	vm, err := Start(t.Context(), []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	err = vm.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Wait() = %v, want exit status 3", err)
	}
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("stdout, stderr = %q, %q", stdout.String(), stderr.String())
	}
	if got := vm.Argv(); len(got) != 3 || got[0] != "sh" {
		t.Errorf("Argv() = %q", got)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(t.Context(), nil, nil, nil); !errors.Is(err, ErrNoBinary) {
		t.Errorf("Start(nil argv) = %v, want ErrNoBinary", err)
	}
	missing := filepath.Join(t.TempDir(), "qemu-system-none")
	if _, err := Start(t.Context(), []string{missing}, nil, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start(missing) = %v, want ErrNotExist", err)
	}
}

// TestPdeathsig: when the process that called Start dies without cleaning
// up, the kernel kills the child. The dying parent is this test binary run
// again as a helper.
func TestPdeathsig(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartAndHang$")
	cmd.Env = append(os.Environ(), "VMFSBENCH_QEMU_HELPER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("helper printed %q", line)
	}
	if !pidAlive(pid) {
		t.Fatalf("helper's child %d not running", pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !eventually(func() bool { return !pidAlive(pid) }) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		t.Errorf("child %d survived its parent", pid)
	}
}

// TestHelperStartAndHang is not a test: TestPdeathsig runs it in a child
// process, which starts sleep, prints its pid and waits to be killed.
func TestHelperStartAndHang(t *testing.T) {
	if os.Getenv("VMFSBENCH_QEMU_HELPER") != "1" {
		return
	}
	vm, err := Start(context.Background(), []string{"sleep", "30"}, nil, nil)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(vm.Pid())
	select {}
}

func TestGroupAlive(t *testing.T) {
	if GroupAlive(0) || GroupAlive(-1) {
		t.Error("GroupAlive of an invalid group is true")
	}
	// A group id no process can have: above pid_max.
	if GroupAlive(1 << 30) {
		t.Error("GroupAlive(1<<30) is true")
	}
	if !GroupAlive(syscall.Getpgrp()) {
		t.Error("GroupAlive(own group) is false")
	}
}
