package main

import (
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

func TestDaxOn(t *testing.T) {
	table := `22 1 0:21 / / rw - rootfs rootfs rw
30 22 259:0 / /vmfsbench/lower ro,relatime - erofs /dev/pmem0 ro,user_xattr,acl,cache_strategy=readaround,dax=always
31 22 259:1 / /tree rw,relatime - ext4 /dev/pmem1 rw,dax=always
32 22 254:0 / /plain ro,relatime - erofs /dev/vda ro,user_xattr,acl,cache_strategy=readaround
33 22 254:1 / /with\040blank ro - ext2 /dev/pmem2 ro,dax
`
	for _, c := range []struct {
		target string
		ok     bool
	}{{"/vmfsbench/lower", true}, {"/tree", true}, {"/plain", false}, {"/with blank", true}, {"/missing", false}} {
		err := daxOn(strings.NewReader(table), c.target)
		if (err == nil) != c.ok {
			t.Errorf("daxOn(%s) = %v, want ok=%v", c.target, err, c.ok)
		}
	}
	// A later mount at the same place decides.
	over := table + "40 22 254:0 / /tree ro - erofs /dev/vda ro\n"
	if err := daxOn(strings.NewReader(over), "/tree"); err == nil {
		t.Error("daxOn looked at the first of two mounts at /tree")
	}
}

func TestMeminfoKiB(t *testing.T) {
	m := "MemTotal:        2014648 kB\nBuffers:            1234 kB\nCached:           567890 kB\nSwapCached:            0 kB\n"
	if got := meminfoKiB(strings.NewReader(m), "Cached"); got != 567890 {
		t.Errorf("Cached = %d", got)
	}
	if got := meminfoKiB(strings.NewReader(m), "Nope"); got != 0 {
		t.Errorf("Nope = %d", got)
	}
}

func TestVmstatFaults(t *testing.T) {
	v := "pgpgin 1234\npgfault 98765\npgmajfault 321\npgrefill 0\n"
	if got := vmstatFaults(strings.NewReader(v)); got != (faults{all: 98765, major: 321}) {
		t.Errorf("vmstatFaults = %+v", got)
	}
	// The counters grow over a workload that touches memory: this process's own faults
	// are in them.
	before := readFaults()
	b := make([]byte, 8<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	var r protocol.Result
	before.since(&r)
	if before.all == 0 || r.PageFaults < int64(len(b)/4096)/2 || r.MajorFaults < 0 {
		t.Errorf("faults at start %+v, over 8 MiB of new pages %d (major %d)", before, r.PageFaults, r.MajorFaults)
	}
}

// TestHistByResult reads a histogram as Linux 6.1 writes it for a trigger keyed by the
// fault's result: VM_FAULT_FALLBACK (0x800) results are fallbacks, the rest mapped.
func TestHistByResult(t *testing.T) {
	hist := `# event histogram
#
# trigger info: hist:keys=result:vals=hitcount:sort=hitcount:size=2048 [active]
#

{ result:        256 } hitcount:         12
{ result:       2048 } hitcount:          3
{ result:     0x0802 } hitcount:          1

Totals:
    Hits: 16
    Entries: 3
    Dropped: 0
`
	if fb, other := histByResult(hist); fb != 4 || other != 12 {
		t.Errorf("histByResult = %d fallbacks, %d others; want 4, 12", fb, other)
	}
	if fb, other := histByResult(""); fb != 0 || other != 0 {
		t.Errorf("empty histogram: %d, %d", fb, other)
	}
}
