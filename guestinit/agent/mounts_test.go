package main

import (
	"strings"
	"testing"
)

func TestParseTreeMounts(t *testing.T) {
	info := `22 1 0:21 / /proc rw,nosuid - proc proc rw
30 1 0:30 / /vmfsbench/lower ro,relatime - 9p tree ro,access=client,msize=512000,trans=virtio
31 1 0:31 / /root/llvm\040project rw,relatime - overlay overlay rw,lowerdir=/vmfsbench/lower,upperdir=/x/upper
32 31 0:32 / /root/llvm\040project/sub rw - tmpfs tmpfs rw
`
	got := parseTreeMounts(info, "/root/llvm project")
	want := []string{
		"/vmfsbench/lower 9p tree ro,relatime ro,access=client,msize=512000,trans=virtio",
		"/root/llvm project overlay overlay rw,relatime rw,lowerdir=/vmfsbench/lower,upperdir=/x/upper",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
