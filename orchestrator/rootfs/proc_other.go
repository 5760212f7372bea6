//go:build !linux

package rootfs

import "os/exec"

// setProcessGroup is a no-op where process groups are not set up: vmfsbench hosts are Linux.
func setProcessGroup(cmd *exec.Cmd) {}
