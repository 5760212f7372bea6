package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// bootIDFile names the host's boot: it changes when the host reboots.
var bootIDFile = "/proc/sys/kernel/random/boot_id"

// chooseAccel is qemu.ChooseAccel; a test stands in a host whose /dev/kvm opens.
var chooseAccel = qemu.ChooseAccel

// Remembered starts the reason of an accelerator verdict that a probe boot earlier in the
// same host boot found.
const Remembered = "remembered from this host boot's probe: "

// Accel turns the spec's accel into the accelerator the cells run with and why (see
// qemu.ChooseAccel). An auto choice that had to boot a probe guest is remembered in cache
// for the host's boot, for arch: where KVM hangs, that boot costs its whole timeout, and
// it says the same until the host reboots. A remembered verdict's reason starts with
// Remembered. boot is the probe guest's boot.
func Accel(ctx context.Context, cache, want, arch string, boot func(ctx context.Context, accel string) error) (accel, reason string, err error) {
	if want != "auto" {
		return chooseAccel(ctx, want, boot)
	}
	file := verdictFile(cache, arch)
	if v, ok := readVerdict(file); ok {
		return v.Accel, Remembered + v.Reason, nil
	}
	booted := false
	accel, reason, err = chooseAccel(ctx, want, func(ctx context.Context, accel string) error {
		booted = true
		return boot(ctx, accel)
	})
	if err == nil && booted && file != "" && os.MkdirAll(filepath.Dir(file), 0o755) == nil {
		b, _ := json.Marshal(verdict{Accel: accel, Reason: reason})
		atomicfile.WriteFile(file, b, 0o644) // not kept: the next run probes again
	}
	return accel, reason, err
}

// verdict is a remembered accelerator choice.
type verdict struct {
	Accel  string `json:"accel"`
	Reason string `json:"reason"`
}

// verdictFile is where the verdict of this host boot for arch is kept; "" when the host's
// boot cannot be named.
func verdictFile(cache, arch string) string {
	b, err := os.ReadFile(bootIDFile)
	id := strings.TrimSpace(string(b))
	if err != nil || id == "" || cache == "" {
		return ""
	}
	return filepath.Join(cache, "accel", fmt.Sprintf("%s-%s.json", id, arch))
}

func readVerdict(file string) (verdict, bool) {
	var v verdict
	if file == "" {
		return v, false
	}
	b, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(b, &v) != nil || (v.Accel != "kvm" && v.Accel != "tcg") {
		return v, false
	}
	return v, true
}
