package run

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/guestinit/initramfs"
	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// BenchmarkBootToReady boots the same kernel under TCG with two initramfs: vmfsbench's agent
// with an empty job (time to its done event and to QEMU's exit), and a trivial /init that
// powers off at once (time to QEMU's exit). The difference is what the agent costs.
func BenchmarkBootToReady(b *testing.B) {
	testenv.Tool(b, "qemu-system-x86_64")
	cache, err := kernel.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	k, err := kernel.Find(cache, "x86_64")
	if err != nil {
		testenv.Missing(b, "%v", err)
	}
	ctx := context.Background()
	dir := b.TempDir()
	agent, err := initramfs.BuildAgent(ctx, cache, "amd64")
	if err != nil {
		b.Fatal(err)
	}
	base, _, err := initramfs.BuildBase(ctx, cache, initramfs.Base{Agent: agent, ModulesDir: k.ModulesDir, Modules: plan.BaseModules})
	if err != nil {
		b.Fatal(err)
	}
	agentInitrd := filepath.Join(dir, "agent.cpio")
	if err := initramfs.WriteCellInitrd(agentInitrd, base, []byte(`{"cell":"bench","workload":{}}`)); err != nil {
		b.Fatal(err)
	}
	trivial := filepath.Join(dir, "poweroff")
	buildStatic(b, "poweroff", trivial)
	trivialInitrd := filepath.Join(dir, "trivial.cpio")
	f, err := os.Create(trivialInitrd)
	if err != nil {
		b.Fatal(err)
	}
	if err := initramfs.Write(f, []initramfs.File{{Name: "init", Mode: 0o755, Src: trivial}}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	argv := func(initrd string) []string {
		a, err := qemu.Build(qemu.WithAccel("tcg"), qemu.WithCPUs(2), qemu.WithMemory(512<<20), qemu.WithKernel(k.Vmlinuz),
			qemu.WithInitrd(initrd), qemu.WithConsoleLog(filepath.Join(dir, "console")),
			qemu.VirtioSerialPort("ctl", filepath.Join(dir, "ctl")))
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	b.Run("agent", func(b *testing.B) {
		var ready, exit time.Duration
		for range b.N {
			g, err := bootGuest(ctx, argv(agentInitrd), filepath.Join(dir, "ctl"), filepath.Join(dir, "console"), io.Discard, io.Discard, nil)
			if err != nil {
				b.Fatal(err)
			}
			for {
				ev, err := g.next(ctx, time.Now().Add(time.Minute), "done")
				if err != nil {
					b.Fatal(err)
				}
				if ev.Kind == protocol.EventDone {
					ready += ev.at.Sub(g.start)
					break
				}
			}
			<-g.vm.Done()
			exit += time.Since(g.start)
			g.stop()
		}
		b.ReportMetric(ready.Seconds()/float64(b.N), "s-to-done")
		b.ReportMetric(exit.Seconds()/float64(b.N), "s-to-exit")
	})
	b.Run("trivial-init", func(b *testing.B) {
		var exit time.Duration
		for range b.N {
			ch, err := qemu.Listen(filepath.Join(dir, "ctl"))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			vm, err := qemu.Start(ctx, argv(trivialInitrd), io.Discard, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			vm.Wait()
			exit += time.Since(start)
			ch.Close()
		}
		b.ReportMetric(exit.Seconds()/float64(b.N), "s-to-exit")
	})
}
