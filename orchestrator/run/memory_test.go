package run

import (
	"os"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/results"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\tqemu-system-x86\nVmPeak:\t 3456789 kB\nVmHWM:\t  812345 kB\nVmRSS:\t  800000 kB\n" +
		"RssAnon:\t  500000 kB\nRssFile:\t  280000 kB\nRssShmem:\t   20000 kB\nThreads:\t5\n"
	got, err := parseStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	want := results.Memory{QEMURSSKiB: 800000, QEMUPeakKiB: 812345, QEMUFileKiB: 280000, QEMUShmemKiB: 20000}
	if *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	if _, err := parseStatus(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("a status without memory figures was accepted")
	}
	m, err := qemuMemory(os.Getpid())
	if err != nil || m.QEMURSSKiB <= 0 || m.QEMUPeakKiB < m.QEMURSSKiB {
		t.Errorf("this process: %+v, %v", m, err)
	}
}
