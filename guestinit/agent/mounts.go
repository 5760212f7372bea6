package main

import (
	"os"
	"path"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/mountinfo"
)

// treeMounts are the mounts the tree reaches the workload through, as the kernel has them in
// /proc/self/mountinfo: every mount at or below /vmfsbench/lower (a share's or an image's
// lower layer) and at the tree's path, each as "MOUNTPOINT FSTYPE SOURCE OPTIONS SUPEROPTIONS".
// The options are what the guest actually got: the kernel clamps some (9p's msize) and drops
// others (DAX where the device cannot do it).
func treeMounts(treePath string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return parseTreeMounts(string(data), path.Clean(treePath))
}

// parseTreeMounts picks the tree's mounts from mountinfo text.
func parseTreeMounts(text, treePath string) []string {
	var out []string
	for _, m := range mountinfo.Parse(text) {
		if m.Point != treePath && m.Point != "/vmfsbench/lower" && !strings.HasPrefix(m.Point, "/vmfsbench/lower/") {
			continue
		}
		out = append(out, strings.Join([]string{m.Point, m.FSType, m.Source, m.Options, m.Super}, " "))
	}
	return out
}
