package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
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
	s := guest.Session{Arch: qemu.X86_64, Accel: "tcg", CPUs: 2, Memory: 512 << 20, Kernel: k.Vmlinuz, Files: guest.FilesIn(dir),
		Image: guest.Image{Cache: cache, Job: protocol.Job{Cell: "bench"},
			Base: initramfs.Base{Agent: agent, ModulesDir: k.ModulesDir, Modules: plan.BaseModules}}}
	if _, _, err := s.WriteInitramfs(ctx); err != nil {
		b.Fatal(err)
	}
	trivial := filepath.Join(dir, "poweroff")
	buildStatic(b, "poweroff", trivial)
	t := s
	t.Image, t.Files.Initrd = guest.Image{}, filepath.Join(dir, "trivial.cpio")
	f, err := os.Create(t.Files.Initrd)
	if err != nil {
		b.Fatal(err)
	}
	if err := initramfs.Write(f, []initramfs.File{{Name: "init", Mode: 0o755, Src: trivial}}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.Run("agent", func(b *testing.B) {
		var ready, exit time.Duration
		for range b.N {
			g, err := s.Start(ctx, guest.Logs{})
			if err != nil {
				b.Fatal(err)
			}
			err = g.Done(ctx, time.Now().Add(time.Minute), "done", func(ev guest.Event) {
				if ev.Kind == protocol.EventDone {
					ready += ev.At.Sub(g.Started())
				}
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Wait(time.Minute); err != nil {
				b.Fatal(err)
			}
			exit += time.Since(g.Started())
		}
		b.ReportMetric(ready.Seconds()/float64(b.N), "s-to-done")
		b.ReportMetric(exit.Seconds()/float64(b.N), "s-to-exit")
	})
	b.Run("trivial-init", func(b *testing.B) {
		var exit time.Duration
		for range b.N {
			g, err := t.Start(ctx, guest.Logs{})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Wait(time.Minute); err != nil {
				b.Fatal(err)
			}
			exit += time.Since(g.Started())
		}
		b.ReportMetric(exit.Seconds()/float64(b.N), "s-to-exit")
	})
}
