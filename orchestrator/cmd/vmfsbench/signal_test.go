package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is vmfsbench itself when VMFSBENCH_TEST_MAIN is set: main runs with the
// binary's arguments, signal handling included.
func init() {
	if os.Getenv("VMFSBENCH_TEST_MAIN") == "1" {
		main()
	}
}

// TestSIGHUP (finding 8): SIGHUP (a closed terminal) stops vmfsbench as SIGTERM does: the
// command is cancelled, cleans up and exits 2 with a message, instead of dying silently.
// The command is `digest` of a synthetic tree, cut short while the tree is generated.
func TestSIGHUP(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "hup.yaml")
	spec := "version: 1\nname: hup\ntree:\n  synthetic: {files: 400000, bytes: 4GiB}\nmethods:\n  - 9p: {}\n"
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cache := t.TempDir()
			cmd := exec.Command(os.Args[0], "digest", specFile)
			cmd.Env = append(os.Environ(), "VMFSBENCH_TEST_MAIN=1", "XDG_CACHE_HOME="+cache)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal once the generation has begun.
			deadline := time.Now().Add(20 * time.Second)
			for {
				if m, _ := filepath.Glob(filepath.Join(cache, "vmfsbench", "trees", ".*.tmp-*", "*")); len(m) > 0 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the tree's generation never started:\n%s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 30s after %s", sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("after %s: %v, want exit %d", sig, err, exitUsage)
			}
			if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
				t.Fatalf("killed by %s, with no message: the signal is not handled", ws.Signal())
			}
			if ee.ExitCode() != exitUsage || !strings.HasPrefix(stderr.String(), "vmfsbench digest: ") {
				t.Errorf("exit %d, stderr %q; want exit %d and a message", ee.ExitCode(), stderr.String(), exitUsage)
			}
			if m, _ := filepath.Glob(filepath.Join(cache, "vmfsbench", "trees", ".*")); len(m) > 0 {
				t.Errorf("half-made tree left: %v", m)
			}
		})
	}
}
