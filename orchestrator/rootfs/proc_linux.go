package rootfs

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the child in its own process group, kills it if we die, and makes
// cancellation kill the whole group (debootstrap and chroot fork).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
