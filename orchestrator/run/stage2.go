package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// secondStageTimeout bounds a second stage: dpkg configuring a hundred packages under TCG.
const secondStageTimeout = 90 * time.Minute

// SecondStage runs script with /bin/sh as root in the root filesystem image (ext4) of
// another architecture, in a guest of that architecture that vmfsbench boots with the image
// attached writable, and returns what the script printed. It is how `vmfsbench rootfs build`
// finishes a root whose package scripts this host cannot run (no binfmt_misc): debootstrap
// --foreign on the host, its second stage in the guest. It fits rootfs.SecondStage.
func SecondStage(ctx context.Context, archName, image, script string, log io.Writer) (string, error) {
	a, err := arch.Lookup(archName)
	if err != nil {
		return "", err
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return "", err
	}
	k, err := kernel.Find(cache, a.Name)
	if err != nil {
		return "", fmt.Errorf("second stage: %w", err)
	}
	agent, err := initramfs.BuildAgent(ctx, cache, a.GOARCH)
	if err != nil {
		return "", err
	}
	dir, err := MkdirTemp()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	job := protocol.Job{Cell: "rootfs-second-stage", Steps: plan.RootfsSteps("/dev/vda"),
		Workload: protocol.Workload{Kind: protocol.WorkloadExec, Argv: []string{"/bin/sh", "-c", script}, Chroot: plan.RootfsDir,
			Env:     []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"},
			Timeout: secondStageTimeout.Seconds()},
		Mountpoint: "/"}
	s := guest.Session{Arch: qemu.Arch(a.Name), Accel: "tcg", CPUs: 2, Memory: 2 << 30, Kernel: k.Vmlinuz,
		Devices: []qemu.Fn{qemu.BlockDevice(image, false, false)}, Files: guest.FilesIn(dir),
		Image: guest.Image{Cache: cache, Job: job, Base: initramfs.Base{Agent: agent, ModulesDir: k.ModulesDir,
			Modules: append(plan.BaseModules, "virtio_blk", "crc32c_generic", "ext4")}}}
	if _, _, err := s.WriteInitramfs(ctx); err != nil {
		return "", err
	}
	var out bytes.Buffer
	g, err := s.Start(ctx, guest.Logs{QEMU: log, Stdout: io.MultiWriter(&out, log), Stderr: io.MultiWriter(&out, log),
		Started: func(argv []string) { fmt.Fprintf(log, "$ %s\n", qemu.Quote(argv)) }})
	if err != nil {
		return "", err
	}
	defer g.Stop()
	var failure error
	err = g.Done(ctx, time.Now().Add(secondStageTimeout+workloadGrace), "the second stage", func(ev guest.Event) {
		if ev.Kind == protocol.EventResult && ev.Result != nil && ev.Result.ExitCode != 0 {
			failure = fmt.Errorf("second stage: the script exited %d", ev.Result.ExitCode)
		}
	})
	if err != nil {
		return out.String(), errors.Join(failure, fmt.Errorf("second stage: %w", err))
	}
	g.Wait(30 * time.Second)
	return out.String(), failure
}
