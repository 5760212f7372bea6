package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vmfsbench/vmfsbench/guestinit/initramfs"
	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
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
	base, _, err := initramfs.BuildBase(ctx, cache, initramfs.Base{Agent: agent, ModulesDir: k.ModulesDir,
		Modules: append(plan.BaseModules, "virtio_blk", "crc32c_generic", "ext4")})
	if err != nil {
		return "", err
	}
	dir, err := MkdirTemp()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	job, err := json.Marshal(protocol.Job{Cell: "rootfs-second-stage", Steps: plan.RootfsSteps("/dev/vda"),
		Workload: protocol.Workload{Kind: protocol.WorkloadExec, Argv: []string{"/bin/sh", "-c", script}, Chroot: plan.RootfsDir,
			Env:     []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"},
			Timeout: secondStageTimeout.Seconds()},
		Mountpoint: "/"})
	if err != nil {
		return "", err
	}
	initrd, console, ctl := filepath.Join(dir, "initrd"), filepath.Join(dir, "console"), filepath.Join(dir, "ctl")
	if err := initramfs.WriteCellInitrd(initrd, base, job); err != nil {
		return "", err
	}
	argv, err := qemu.Build(qemu.WithArch(qemu.Arch(a.Name)), qemu.WithAccel("tcg"), qemu.WithCPUs(2), qemu.WithMemory(2<<30),
		qemu.WithKernel(k.Vmlinuz), qemu.WithInitrd(initrd), qemu.WithConsoleLog(console),
		qemu.VirtioSerialPort("ctl", ctl), qemu.BlockDevice(image, false, false))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(log, "$ %s\n", qemu.Quote(argv))
	var out bytes.Buffer
	g, err := bootGuest(ctx, argv, ctl, console, log, io.Discard, toWriter(io.MultiWriter(&out, log)))
	if err != nil {
		return "", err
	}
	defer g.stop()
	deadline := time.Now().Add(secondStageTimeout + workloadGrace)
	var failure error
	for {
		ev, err := g.next(ctx, deadline, "the second stage")
		if err != nil {
			return out.String(), errors.Join(failure, err)
		}
		switch ev.Kind {
		case protocol.EventError:
			failure = fmt.Errorf("second stage: %s", ev.Error)
		case protocol.EventResult:
			if ev.Result != nil && ev.Result.ExitCode != 0 {
				failure = fmt.Errorf("second stage: the script exited %d", ev.Result.ExitCode)
			}
		case protocol.EventDone:
			g.waitExit(30 * time.Second)
			return out.String(), failure
		}
	}
}
