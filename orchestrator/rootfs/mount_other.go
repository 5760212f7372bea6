//go:build !linux

package rootfs

// unmountUnder does nothing where vmfsbench cannot build roots: only Linux mounts in them.
func unmountUnder(dir string) error { return nil }
