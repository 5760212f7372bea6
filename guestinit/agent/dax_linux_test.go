package main

import (
	"strings"
	"testing"
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
