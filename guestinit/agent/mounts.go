package main

import (
	"os"
	"path"
	"strings"
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

// parseTreeMounts picks the tree's mounts from mountinfo text (see proc(5): ID PARENT
// MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS).
func parseTreeMounts(mountinfo, treePath string) []string {
	var out []string
	for _, line := range strings.Split(mountinfo, "\n") {
		before, after, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(before), strings.Fields(after)
		if len(f) < 6 || len(g) < 3 {
			continue
		}
		mp := unescapeOctal(f[4])
		if mp != treePath && mp != "/vmfsbench/lower" && !strings.HasPrefix(mp, "/vmfsbench/lower/") {
			continue
		}
		out = append(out, strings.Join([]string{mp, g[0], unescapeOctal(g[1]), f[5], g[2]}, " "))
	}
	return out
}

// unescapeOctal undoes mountinfo's \NNN escapes of blanks and backslashes.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n := s[i+1 : i+4]; len(n) == 3 && n[0] >= '0' && n[0] <= '3' {
				v := (int(n[0]-'0') << 6) | (int(n[1]-'0') << 3) | int(n[2]-'0')
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
