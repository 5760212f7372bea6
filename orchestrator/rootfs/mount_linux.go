package rootfs

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/vmfsbench/vmfsbench/internal/mountinfo"
)

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	var ms []string
	for _, m := range mounts {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			ms = append(ms, m.Point)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i]) > len(ms[j]) })
	return ms, nil
}

// unmountUnder detaches every mount at or below dir and fails if one stays.
func unmountUnder(dir string) error {
	ms, err := mountsUnder(dir)
	if err != nil {
		return fmt.Errorf("mounts under %s: %w", dir, err)
	}
	for _, m := range ms {
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
	if ms, err = mountsUnder(dir); err != nil || len(ms) > 0 {
		return fmt.Errorf("%s still has mounts %v (%v): unmount them before removing it", dir, ms, err)
	}
	return nil
}
