package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
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
	withAgent := guest.Session{Arch: qemu.X86_64, Accel: b.o.accel, CPUs: 2, Memory: 512 << 20, Kernel: k.Vmlinuz,
		Files: guest.FilesIn(dir), Image: guest.Image{Cache: cache, Job: protocol.Job{Cell: "bench"},
			Base: initramfs.Base{Agent: agent, ModulesDir: k.ModulesDir, Modules: plan.BaseModules}}}
	if _, _, err := withAgent.WriteInitramfs(ctx); err != nil {
		return nil, err
	}
	trivial := withAgent
	trivial.Image, trivial.Files.Initrd = guest.Image{}, filepath.Join(dir, "trivial.cpio")
	if err := buildTrivialInitrd(ctx, dir, trivial.Files.Initrd); err != nil {
		return nil, err
	}
	var agentRuns, trivialRuns []bootTimes
	for i := range b.o.boots {
		b.logf("boot %d of %d: agent and trivial init", i+1, b.o.boots)
		a, err := boot(ctx, &withAgent)
		if err != nil {
			return nil, fmt.Errorf("agent: %w (console: %s)", err, withAgent.Files.Console)
		}
		t, err := boot(ctx, &trivial)
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

// boot starts the session and times it; with an agent, it follows the agent's events until
// done.
func boot(ctx context.Context, s *guest.Session) (bootTimes, error) {
	var t bootTimes
	g, err := s.Start(ctx, guest.Logs{})
	if err != nil {
		return t, err
	}
	defer g.Stop()
	if s.Image.Base.Agent != "" {
		err := g.Done(ctx, time.Now().Add(2*time.Minute), "the agent's done event", func(ev guest.Event) {
			switch ev.Kind {
			case protocol.EventModules:
				t.ready = ev.At.Sub(g.Started()).Seconds()
			case protocol.EventDone:
				t.done = ev.At.Sub(g.Started()).Seconds()
			}
		})
		if err != nil {
			return t, err
		}
	}
	if err := g.Wait(2 * time.Minute); errors.Is(err, guest.ErrStillRunning) {
		return t, err
	}
	t.exit = time.Since(g.Started()).Seconds()
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
