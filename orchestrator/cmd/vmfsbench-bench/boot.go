package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vmfsbench/vmfsbench/guestinit/initramfs"
	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"

	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// trivialInit is the reference /init: it powers the guest off at once.
const trivialInit = `package main

import "syscall"

func main() { syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF) }
`

// bootTimes is one boot: from QEMU's start to the agent's modules event (ready for the
// cell's steps), to its done event, and to QEMU's exit.
type bootTimes struct{ ready, done, exit float64 }

// bootFigures boots the same kernel under the same QEMU options with two initramfs, in turn:
// vmfsbench's agent with an empty job and the base modules (virtio-pci, virtio-console),
// and a trivial /init that powers off.
func (b *bench) bootFigures(ctx context.Context) ([]figure, error) {
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}
	k, err := kernel.Find(cache, "x86_64")
	if err != nil {
		return nil, fmt.Errorf("%w (make kernel fetches it)", err)
	}
	dir, err := tmpdir.Make("boot") // short: it holds a unix socket
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	agent, err := initramfs.BuildAgent(ctx, cache, "amd64")
	if err != nil {
		return nil, err
	}
	base, _, err := initramfs.BuildBase(ctx, cache, initramfs.Base{Agent: agent, ModulesDir: k.ModulesDir, Modules: plan.BaseModules})
	if err != nil {
		return nil, err
	}
	agentInitrd := filepath.Join(dir, "agent.cpio")
	if err := initramfs.WriteCellInitrd(agentInitrd, base, []byte(`{"cell":"bench","workload":{}}`)); err != nil {
		return nil, err
	}
	trivialInitrd := filepath.Join(dir, "trivial.cpio")
	if err := buildTrivialInitrd(ctx, dir, trivialInitrd); err != nil {
		return nil, err
	}
	argv := func(initrd string) ([]string, error) {
		return qemu.Build(qemu.WithAccel(b.o.accel), qemu.WithCPUs(2), qemu.WithMemory(512<<20), qemu.WithKernel(k.Vmlinuz),
			qemu.WithInitrd(initrd), qemu.WithConsoleLog(filepath.Join(dir, "console")),
			qemu.VirtioSerialPort("ctl", filepath.Join(dir, "ctl")))
	}
	agentArgv, err := argv(agentInitrd)
	if err != nil {
		return nil, err
	}
	trivialArgv, err := argv(trivialInitrd)
	if err != nil {
		return nil, err
	}
	var agentRuns, trivialRuns []bootTimes
	for i := range b.o.boots {
		b.logf("boot %d of %d: agent and trivial init", i+1, b.o.boots)
		a, err := boot(ctx, agentArgv, filepath.Join(dir, "ctl"), true)
		if err != nil {
			return nil, fmt.Errorf("agent: %w (console: %s)", err, filepath.Join(dir, "console"))
		}
		t, err := boot(ctx, trivialArgv, filepath.Join(dir, "ctl"), false)
		if err != nil {
			return nil, fmt.Errorf("trivial init: %w", err)
		}
		agentRuns, trivialRuns = append(agentRuns, a), append(trivialRuns, t)
	}
	pick := func(bs []bootTimes, f func(bootTimes) float64) float64 {
		xs := make([]float64, len(bs))
		for i, x := range bs {
			xs[i] = f(x)
		}
		return median(xs)
	}
	ready := pick(agentRuns, func(t bootTimes) float64 { return t.ready })
	done := pick(agentRuns, func(t bootTimes) float64 { return t.done })
	aExit := pick(agentRuns, func(t bootTimes) float64 { return t.exit })
	tExit := pick(trivialRuns, func(t bootTimes) float64 { return t.exit })
	return []figure{
		{
			name:  "boot to agent-ready vs trivial /init (QEMU start to exit)",
			ours:  fmt.Sprintf("ready %s, exit %s", secs(ready), secs(aExit)),
			ref:   fmt.Sprintf("exit %s", secs(tExit)),
			ratio: ratio(aExit / tExit),
			note: fmt.Sprintf("the same kernel, QEMU options (TCG, 2 CPUs, 512 MiB, a virtio-serial control port) and initramfs "+
				"format; medians of %d boots each. The agent loads virtio_pci and virtio_console, opens the control port, runs "+
				"its empty job and powers off: ready (modules loaded, events flowing) %s, done %s, exit %s; the trivial /init "+
				"powers off at once. Agent minus trivial /init: %s (under TCG the kernel's own boot, ~5 s, dominates both).",
				b.o.boots, secs(ready), secs(done), secs(aExit), secsSigned(aExit-tExit)),
		},
	}, nil
}

// boot starts QEMU and times it; with agent, it follows the agent's events on the control
// port until done.
func boot(ctx context.Context, argv []string, ctl string, agent bool) (bootTimes, error) {
	var t bootTimes
	ch, err := qemu.Listen(ctl)
	if err != nil {
		return t, err
	}
	defer ch.Close()
	start := time.Now()
	vm, err := qemu.Start(ctx, argv, io.Discard, io.Discard)
	if err != nil {
		return t, err
	}
	defer func() {
		select {
		case <-vm.Done():
		default:
			vm.Kill()
		}
		vm.Wait()
	}()
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := ch.Accept(actx)
	if err != nil {
		return t, fmt.Errorf("qemu did not connect to the control port: %w", err)
	}
	defer conn.Close()
	if agent {
		deadline := time.AfterFunc(2*time.Minute, func() { conn.Close() })
		defer deadline.Stop()
		dec := protocol.NewDecoder(conn)
		for t.done == 0 {
			ev, err := dec.Next()
			if err != nil {
				return t, fmt.Errorf("control port: %w", err)
			}
			switch ev.Kind {
			case protocol.EventModules:
				t.ready = time.Since(start).Seconds()
			case protocol.EventDone:
				t.done = time.Since(start).Seconds()
			case protocol.EventError:
				return t, errors.New("agent: " + ev.Error)
			}
		}
	} else {
		go io.Copy(io.Discard, conn)
	}
	select {
	case <-vm.Done():
	case <-time.After(2 * time.Minute):
		return t, errors.New("the guest did not power off within 2 minutes")
	}
	t.exit = time.Since(start).Seconds()
	return t, nil
}

// buildTrivialInitrd builds trivialInit as a static binary and packs it as /init.
func buildTrivialInitrd(ctx context.Context, dir, initrd string) error {
	src := filepath.Join(dir, "trivial")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module trivialinit\n\ngo 1.21\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(trivialInit), 0o644); err != nil {
		return err
	}
	bin := filepath.Join(dir, "trivial-init")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build of the trivial init: %w: %s", err, out)
	}
	f, err := os.Create(initrd)
	if err != nil {
		return err
	}
	if err := initramfs.Write(f, []initramfs.File{{Name: "init", Mode: 0o755, Src: bin}}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
