//go:build !linux

package proc

import "os/exec"

// Group does nothing where vmfsbench does not run its hosts (it needs Linux); it keeps the
// packages that import proc building elsewhere.
func Group(cmd *exec.Cmd) {}
