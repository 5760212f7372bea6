package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/mountinfo"
	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

// deviceWait bounds the wait for a DAX mount's device: the nvdimm bus registers a
// virtio-pmem region and its namespace asynchronously, after the module loaded.
const deviceWait = 10 * time.Second

// daxMount mounts s once its device exists and fails unless the kernel mounted it with DAX
// on, as /proc/self/mountinfo shows it.
func daxMount(ctx context.Context, s protocol.Step) error {
	deadline := time.Now().Add(deviceWait)
	for {
		if _, err := os.Stat(s.Source); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("waiting %s for %s: %w", deviceWait, s.Source, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := mountStep(s); err != nil {
		return err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	return daxOn(f, s.Target)
}

// daxOn reads a mountinfo table and says whether the mount at target (its last one) has DAX
// on: a super option "dax" or "dax=always" (ext4 and erofs show these; erofs drops the
// option when the device cannot do DAX).
func daxOn(r io.Reader, target string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var opts string
	found := false
	for _, m := range mountinfo.Parse(string(data)) {
		if m.Point == target {
			found, opts = true, m.Super
		}
	}
	if !found {
		return fmt.Errorf("%s is not in /proc/self/mountinfo", target)
	}
	for _, o := range strings.Split(opts, ",") {
		if o == "dax" || o == "dax=always" {
			return nil
		}
	}
	return errors.New("DAX is not on for " + target + " (mountinfo super options: " + opts + "): the device or the file system cannot map the tree directly")
}

// pageCacheKiB is the guest's page cache, Cached in /proc/meminfo, in KiB; 0 if unknown.
func pageCacheKiB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	return meminfoKiB(f, "Cached")
}

// faults are the guest's page-fault counters: pgfault (all faults) and pgmajfault (those
// that waited for I/O) in /proc/vmstat, zero if unknown; and the DAX faults by size when
// armDAXTrace armed their count, else nil.
type faults struct {
	all, major int64
	dax        *protocol.DAXFaults
}

func readFaults() faults {
	f, err := os.Open("/proc/vmstat")
	if err != nil {
		return faults{dax: readDAXFaults()}
	}
	defer f.Close()
	n := vmstatFaults(f)
	n.dax = readDAXFaults()
	return n
}

// vmstatFaults reads the fault counters from a /proc/vmstat table.
func vmstatFaults(r io.Reader) faults {
	var n faults
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, v, _ := strings.Cut(sc.Text(), " ")
		switch name {
		case "pgfault":
			n.all, _ = strconv.ParseInt(v, 10, 64)
		case "pgmajfault":
			n.major, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return n
}

// since records in r the faults counted since f.
func (f faults) since(r *protocol.Result) {
	now := readFaults()
	r.PageFaults, r.MajorFaults = max(0, now.all-f.all), max(0, now.major-f.major)
	if f.dax != nil && now.dax != nil {
		r.DAX = &protocol.DAXFaults{PMD: now.dax.PMD - f.dax.PMD, PMDFallback: now.dax.PMDFallback - f.dax.PMDFallback, PTE: now.dax.PTE - f.dax.PTE}
	}
}

// meminfoKiB is the value of field in a /proc/meminfo table, in KiB.
func meminfoKiB(r io.Reader, field string) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		return n
	}
	return 0
}

// tracefs is where the agent mounts the kernel's tracing file system.
const tracefs = "/sys/kernel/tracing"

// daxEvents are the fs_dax trace events whose histograms count the DAX faults.
var daxEvents = []string{"dax_pmd_fault_done", "dax_pte_fault_done"}

// armDAXTrace attaches a histogram trigger, keyed by the fault's result, to the fs_dax fault
// events, so that readFaults can count DAX faults by size (the kernel counts them in place,
// with no trace buffer to overflow). A kernel without tracefs, the events or histogram
// triggers leaves the counts unknown: the error says why, and the cell goes on.
func armDAXTrace() error {
	if err := unix.Mount("tracefs", tracefs, "tracefs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mounting tracefs on %s: %w", tracefs, err)
	}
	for _, ev := range daxEvents {
		p := tracefs + "/events/fs_dax/" + ev + "/trigger"
		if err := os.WriteFile(p, []byte("hist:keys=result:vals=hitcount\n"), 0); err != nil {
			return fmt.Errorf("arming %s: %w", p, err)
		}
	}
	return nil
}

// readDAXFaults reads the DAX fault counts of the histograms armDAXTrace attached; nil when
// they are not there.
func readDAXFaults() *protocol.DAXFaults {
	var d protocol.DAXFaults
	for _, ev := range daxEvents {
		b, err := os.ReadFile(tracefs + "/events/fs_dax/" + ev + "/hist")
		if err != nil {
			return nil
		}
		fallback, other := histByResult(string(b))
		if ev == "dax_pmd_fault_done" {
			d.PMD, d.PMDFallback = other, fallback
		} else {
			d.PTE = fallback + other
		}
	}
	return &d
}

// vmFaultFallback is the kernel's VM_FAULT_FALLBACK: a huge-page fault that could not map
// the huge page and leaves the fault to 4 KiB pages.
const vmFaultFallback = 0x800

// histByResult sums the hitcounts of a trace histogram keyed by a fault's result, as
// `{ result:       2048 } hitcount:          3` lines, into those with VM_FAULT_FALLBACK
// set and the others.
func histByResult(hist string) (fallback, other int64) {
	for _, line := range strings.Split(hist, "\n") {
		key, count, ok := strings.Cut(line, "} hitcount:")
		if !ok {
			continue
		}
		_, v, ok := strings.Cut(key, "result:")
		if !ok {
			continue
		}
		res, err1 := strconv.ParseInt(strings.TrimSpace(v), 0, 64)
		n, err2 := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if res&vmFaultFallback != 0 {
			fallback += n
		} else {
			other += n
		}
	}
	return fallback, other
}
