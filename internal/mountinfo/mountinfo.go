// Package mountinfo reads the kernel's table of mounts, /proc/self/mountinfo (proc(5)), for
// the host side and the guest agent alike.
package mountinfo

import (
	"os"
	"strconv"
	"strings"
)

// Mount is one line of the table, its paths unescaped: the mount point and its per-mount
// options, then (after the " - " separator) the file system type, the source and the super
// block's options.
type Mount struct {
	Point, Options, FSType, Source, Super string
}

// Read parses the calling process's table.
func Read() ([]Mount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return Parse(string(data)), nil
}

// Parse parses mountinfo text: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] -
// FSTYPE SOURCE SUPEROPTIONS, one mount a line; malformed lines are left out.
func Parse(text string) []Mount {
	var out []Mount
	for _, line := range strings.Split(text, "\n") {
		before, after, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(before), strings.Fields(after)
		if len(f) < 6 || len(g) < 3 {
			continue
		}
		out = append(out, Mount{Point: Unescape(f[4]), Options: f[5], FSType: g[0], Source: Unescape(g[1]), Super: g[2]})
	}
	return out
}

// Unescape undoes the table's octal escapes (\040 for a blank, \134 for a backslash).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
