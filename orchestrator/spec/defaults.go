package spec

import (
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
)

// Defaults of every optional field, in one place. The JSON Schema repeats them as `default`.
const (
	DefaultArch        = arch.Default
	DefaultMountpoint  = "/root/tree"
	DefaultCPUs        = 2
	DefaultMemory      = 2 << 30
	DefaultAccel       = "auto"
	DefaultBootTimeout = 5 * time.Minute // TCG on a busy host boots 10-20 times slower than on an idle one
	DefaultTimeout     = 30 * time.Minute
	DefaultRepetitions = 1
	DefaultOrder       = "interleaved"
	DefaultBuiltin     = "read-all"
	DefaultOutputCap   = 16 << 20
	MinOutputCap       = 4 << 10
)

// DefaultCache is the list of cache states when the spec gives none: the seed study's two.
var DefaultCache = []string{"empty", "warm"}

// applyDefaults fills every field the spec left out. It is the only place defaults live.
func applyDefaults(e *Experiment) {
	if e.Guest.Arch == "" {
		e.Guest.Arch = DefaultArch
	}
	if e.Guest.Mountpoint == "" {
		e.Guest.Mountpoint = DefaultMountpoint
	}
	if e.QEMU.CPUs == 0 {
		e.QEMU.CPUs = DefaultCPUs
	}
	if e.QEMU.Memory == 0 {
		e.QEMU.Memory = DefaultMemory
	}
	if e.QEMU.Accel == "" {
		e.QEMU.Accel = DefaultAccel
	}
	if e.QEMU.BootTimeout == 0 {
		e.QEMU.BootTimeout = DefaultBootTimeout
	}
	if e.Workload.Builtin == "" && len(e.Workload.Command) == 0 {
		e.Workload.Builtin = DefaultBuiltin
	}
	if e.Workload.OutputCap == 0 {
		e.Workload.OutputCap = DefaultOutputCap
	}
	if e.Workload.Timeout == 0 {
		e.Workload.Timeout = DefaultTimeout
	}
	if len(e.Cache) == 0 {
		e.Cache = append([]string(nil), DefaultCache...)
	}
	if e.Repetitions == 0 {
		e.Repetitions = DefaultRepetitions
	}
	if e.Order == "" {
		e.Order = DefaultOrder
	}
}
