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

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/internal/mountinfo"
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
// that waited for I/O) in /proc/vmstat; zero if unknown.
type faults struct{ all, major int64 }

func readFaults() faults {
	f, err := os.Open("/proc/vmstat")
	if err != nil {
		return faults{}
	}
	defer f.Close()
	return vmstatFaults(f)
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
