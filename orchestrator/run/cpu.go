package run

import (
	"syscall"

	"github.com/vmfsbench/vmfsbench/results"
)

// childCPU is the user and system time, in seconds, of every child process vmfsbench has
// reaped so far (and of their reaped descendants): getrusage(RUSAGE_CHILDREN).
type childCPU struct{ user, system float64 }

func childrenCPU() childCPU {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return childCPU{}
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return childCPU{sec(ru.Utime), sec(ru.Stime)}
}

func (a childCPU) minus(b childCPU) childCPU { return childCPU{a.user - b.user, a.system - b.system} }

// cpuMeter adds up the CPU time of a cell's children: the cell runs alone in vmfsbench,
// so what was reaped between its start and its end is its own. Its cache preparation
// (the warm state's reads) is left out, as it is out of the cell's total.
type cpuMeter struct {
	start, step, skipped childCPU
	build                float64
}

func newCPUMeter() *cpuMeter { return &cpuMeter{start: childrenCPU()} }

// stepStart marks the start of a step.
func (m *cpuMeter) stepStart() { m.step = childrenCPU() }

// stepEnd adds the step's children to the build's part or, for the cache preparation,
// leaves them out.
func (m *cpuMeter) stepEnd(phase results.Phase) {
	d := childrenCPU().minus(m.step)
	switch phase {
	case results.PhasePrepareCache:
		m.skipped = childCPU{m.skipped.user + d.user, m.skipped.system + d.system}
	case results.PhaseBuild:
		m.build += d.user + d.system
	}
}

// result is the cell's CPU record at its end (after teardown reaped QEMU and the daemon);
// qemu is the user and system time of its QEMU processes.
func (m *cpuMeter) result(qemu float64) *results.CPU {
	d := childrenCPU().minus(m.start).minus(m.skipped)
	return &results.CPU{UserSeconds: max(0, d.user), SystemSeconds: max(0, d.system), QEMUSeconds: qemu,
		BuildSeconds: m.build, Source: "rusage"}
}
