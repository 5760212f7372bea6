package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChooseAccel(t *testing.T) {
	dir := t.TempDir()
	usable := filepath.Join(dir, "kvm") // a stand-in /dev/kvm that opens read-write
	if err := os.WriteFile(usable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-kvm")
	readOnly := filepath.Join(dir, "kvm-ro")
	if err := os.WriteFile(readOnly, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		readOnly = dir // root opens any file read-write; a directory it cannot
	}

	fails := func(context.Context, string) error { return errors.New("guest panicked") }
	hangs := func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }
	notKVM := func(_ context.Context, accel string) error {
		if accel != "kvm" {
			return errors.New("probe asked for " + accel)
		}
		return nil
	}
	mustNotRun := func(context.Context, string) error {
		t.Error("probe ran")
		return nil
	}

	for _, tt := range []struct {
		name   string
		want   string
		kvm    string
		probe  func(context.Context, string) error
		accel  string
		reason string // substring
		err    error
	}{
		{name: "tcg", want: "tcg", kvm: usable, probe: mustNotRun, accel: "tcg", reason: "tcg requested"},
		{name: "kvm usable", want: "kvm", kvm: usable, probe: mustNotRun, accel: "kvm", reason: "is usable"},
		{name: "kvm missing", want: "kvm", kvm: missing, probe: mustNotRun, err: ErrKVMUnavailable},
		{name: "kvm not writable", want: "kvm", kvm: readOnly, probe: mustNotRun, err: ErrKVMUnavailable},
		{name: "auto, probe ok", want: "auto", kvm: usable, probe: notKVM, accel: "kvm", reason: "reached the agent in"},
		{name: "auto, probe fails", want: "auto", kvm: usable, probe: fails, accel: "tcg", reason: "kvm probe boot did not reach the agent within 100ms: guest panicked"},
		{name: "auto, probe hangs", want: "auto", kvm: usable, probe: hangs, accel: "tcg", reason: "within 100ms: context deadline exceeded"},
		{name: "auto, no /dev/kvm", want: "auto", kvm: missing, probe: mustNotRun, accel: "tcg", reason: missing + " not available: open " + missing},
		{name: "auto, no probe", want: "auto", kvm: usable, probe: nil, accel: "tcg", reason: "no kvm probe"},
		{name: "bad value", want: "hvf", kvm: usable, probe: mustNotRun, err: ErrBadAccel},
		{name: "empty value", want: "", kvm: usable, probe: mustNotRun, err: ErrBadAccel},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			accel, reason, err := chooseAccel(t.Context(), tt.kvm, 100*time.Millisecond, tt.want, tt.probe)
			if !errors.Is(err, tt.err) {
				t.Fatalf("chooseAccel(%q) error = %v, want %v", tt.want, err, tt.err)
			}
			if accel != tt.accel || !strings.Contains(reason, tt.reason) {
				t.Errorf("chooseAccel(%q) = %q, %q; want %q, reason containing %q", tt.want, accel, reason, tt.accel, tt.reason)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s with a 100ms probe timeout", d)
			}
		})
	}
}

// TestChooseAccelParentCancelled: a user's Ctrl-C during the probe is not a
// reason to fall back to TCG, it is an error.
func TestChooseAccelParentCancelled(t *testing.T) {
	kvm := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(kvm, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	probe := func(pctx context.Context, _ string) error {
		cancel()
		<-pctx.Done()
		return pctx.Err()
	}
	accel, reason, err := chooseAccel(ctx, kvm, time.Minute, "auto", probe)
	if !errors.Is(err, context.Canceled) || accel != "" {
		t.Errorf("chooseAccel = %q, %q, %v; want context.Canceled", accel, reason, err)
	}
}

// TestChooseAccelHost runs the exported function against this machine's
// /dev/kvm with a probe that fails, which must never yield kvm.
func TestChooseAccelHost(t *testing.T) {
	accel, reason, err := ChooseAccel(t.Context(), "auto", func(context.Context, string) error {
		return errors.New("no agent")
	})
	if err != nil || accel != "tcg" || reason == "" {
		t.Errorf("ChooseAccel(auto, failing probe) = %q, %q, %v; want tcg with a reason", accel, reason, err)
	}
	t.Logf("auto with a failing probe: %s (%s)", accel, reason)
}
