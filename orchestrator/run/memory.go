package run

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/vmfsbench/vmfsbench/results"
)

// qemuMemory reads what QEMU's process pid holds in host memory now, from
// /proc/PID/status: its resident set, its peak, and the parts of it that are mapped files
// (a pmem image the guest has read) and shared memory (guest RAM in a shared memfd).
func qemuMemory(pid int) (*results.Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads the memory fields of a /proc/PID/status table.
func parseStatus(r io.Reader) (*results.Memory, error) {
	m := &results.Memory{}
	fields := map[string]*int64{"VmRSS": &m.QEMURSSKiB, "VmHWM": &m.QEMUPeakKiB, "RssFile": &m.QEMUFileKiB, "RssShmem": &m.QEMUShmemKiB}
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		p := fields[name]
		if !ok || p == nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("status field %s: %w", name, err)
		}
		*p = n
		seen++
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if seen == 0 {
		return nil, fmt.Errorf("no memory figures in the process status")
	}
	return m, nil
}
