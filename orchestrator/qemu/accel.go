package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// KVMDevice is the device ChooseAccel opens to decide whether KVM is usable.
const KVMDevice = "/dev/kvm"

// KVMProbeTimeout is how long ChooseAccel("auto") gives the probe boot under
// KVM to reach the guest agent. A working KVM guest gets there in well under
// a second; where nested virtualization is broken the guest hangs instead.
const KVMProbeTimeout = 10 * time.Second

// ErrKVMUnavailable means KVM was asked for explicitly but /dev/kvm cannot be
// opened for reading and writing.
var ErrKVMUnavailable = errors.New("kvm not available")

// ChooseAccel turns the spec's accel ("auto", "kvm" or "tcg") into the
// accelerator to pass to WithAccel, with a reason to record in the results.
//
//   - "tcg" gives tcg.
//   - "kvm" gives kvm if /dev/kvm can be opened read-write, else an error
//     matching ErrKVMUnavailable; no probe is run, the user asked for it.
//   - "auto" gives kvm only if /dev/kvm can be opened and probe(ctx, "kvm"),
//     run with a KVMProbeTimeout deadline, returns nil; otherwise tcg, with
//     the reason it fell back. A nil probe means kvm is never trusted.
//
// probe should boot a minimal guest with the given accelerator and return nil
// once the guest agent answers. If ctx itself ends, ChooseAccel returns its
// error instead of falling back.
func ChooseAccel(ctx context.Context, want string, probe func(ctx context.Context, accel string) error) (accel, reason string, err error) {
	return chooseAccel(ctx, KVMDevice, KVMProbeTimeout, want, probe)
}

func chooseAccel(ctx context.Context, kvmDev string, timeout time.Duration, want string, probe func(ctx context.Context, accel string) error) (accel, reason string, err error) {
	switch want {
	case "tcg":
		return "tcg", "tcg requested", nil
	case "kvm":
		if err := kvmUsable(kvmDev); err != nil {
			return "", "", fmt.Errorf("%w: %w", ErrKVMUnavailable, err)
		}
		return "kvm", "kvm requested and " + kvmDev + " is usable", nil
	case "auto":
	default:
		return "", "", fmt.Errorf("%w %q (want auto, kvm or tcg)", ErrBadAccel, want)
	}

	if err := kvmUsable(kvmDev); err != nil {
		return "tcg", fmt.Sprintf("%s not available: %v", kvmDev, err), nil
	}
	if probe == nil {
		return "tcg", "no kvm probe was given, so kvm is not trusted", nil
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	perr := probe(pctx, "kvm")
	took := time.Since(start).Round(time.Millisecond)
	if err := ctx.Err(); err != nil {
		return "", "", fmt.Errorf("choosing accelerator: %w", context.Cause(ctx))
	}
	if perr != nil {
		return "tcg", fmt.Sprintf("kvm probe boot did not reach the agent within %s: %v", timeout, perr), nil
	}
	return "kvm", fmt.Sprintf("kvm probe boot reached the agent in %s", took), nil
}

// kvmUsable opens dev read-write, which is what QEMU needs from /dev/kvm.
func kvmUsable(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}
