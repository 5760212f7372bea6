package guest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// TestCommand: a session's command line is its fields' QEMU options, in the order a cell's
// plan shows them: the machine, the kernel, initramfs, console and control port, then the
// devices and the raw arguments last.
func TestCommand(t *testing.T) {
	s := Session{Arch: qemu.AArch64, Accel: "tcg", CPUs: 2, Memory: 1 << 30, Kernel: "/k/vmlinuz",
		Devices: []qemu.Fn{qemu.BlockDevice("/img/tree.img", true, false)}, Args: []string{"-S"},
		Files: FilesIn("/w")}
	got, err := s.Command()
	if err != nil {
		t.Fatal(err)
	}
	want, err := qemu.BuildUnchecked(qemu.WithArch(qemu.AArch64), qemu.WithCPUs(2), qemu.WithMemory(1<<30),
		qemu.WithKernel("/k/vmlinuz"), qemu.WithInitrd("/w/initrd"), qemu.WithConsoleLog("/w/console"),
		qemu.VirtioSerialPort("ctl", "/w/ctl"), qemu.WithAccel("tcg"),
		qemu.BlockDevice("/img/tree.img", true, false), qemu.WithArgs("-S"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("command\n%q\nwant\n%q", got, want)
	}
	if got[0] != "qemu-system-aarch64" || got[len(got)-1] != "-S" {
		t.Errorf("command %q: want the arch's binary first and the raw arguments last", got)
	}
}

// TestStartRecordsEveryBoot: each Start tells Logs.Started its command before it runs it, also
// when that QEMU fails at once; the error says QEMU exited. A shell script stands in for a QEMU
// that refuses its command line (a fault case: the real boots are the cell's tests).
func TestStartRecordsEveryBoot(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "qemu")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"fake qemu: no such device\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(dir, "vmlinuz")
	files := FilesIn(dir)
	for _, f := range []string{kernel, files.Initrd} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := Session{Arch: qemu.X86_64, Binary: fake, Kernel: kernel, Files: files}
	qlog, err := os.Create(filepath.Join(dir, "qemu.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer qlog.Close()
	var started [][]string
	logs := Logs{QEMU: qlog, Started: func(argv []string) { started = append(started, argv) }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 2 {
		_, err := s.Start(ctx, logs)
		if err == nil || !strings.Contains(err.Error(), "qemu exited") || !strings.Contains(err.Error(), "fake qemu: no such device") {
			t.Fatalf("boot %d: error %v, want QEMU's exit and its message", i+1, err)
		}
	}
	want, _ := s.Command()
	if len(started) != 2 || !slices.Equal(started[0], want) || !slices.Equal(started[1], want) {
		t.Errorf("started %q, want the command twice", started)
	}
}
