package run

import (
	"os/exec"
	"testing"

	"github.com/vmfsbench/vmfsbench/results"
)

// TestCPUMeter: a child that burns CPU during the build counts in the build's part and the
// total; one during the cache preparation counts in neither.
func TestCPUMeter(t *testing.T) {
	burn := func() {
		t.Helper()
		if err := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done").Run(); err != nil {
			t.Fatal(err)
		}
	}
	m := newCPUMeter()
	m.stepStart()
	burn()
	m.stepEnd(results.PhasePrepareCache)
	prep := m.skipped.user + m.skipped.system
	m.stepStart()
	burn()
	m.stepEnd(results.PhaseBuild)
	r := m.result(0.5)
	if prep <= 0 || m.build <= 0 {
		t.Fatalf("cache preparation %.3fs, build %.3fs of CPU: want both above 0", prep, m.build)
	}
	if all := r.Seconds(); all < m.build*0.99 || all > m.build+0.05 || r.BuildSeconds != m.build || r.QEMUSeconds != 0.5 || r.Source != "rusage" {
		t.Errorf("cpu %+v (all %.3fs), want the build's %.3fs alone, qemu 0.5s", r, all, m.build)
	}
}
