package proc

import (
	"os/exec"
	"syscall"
)

// Group puts cmd, not yet started, in its own process group that gets SIGKILL when
// vmfsbench's thread dies (Pdeathsig) and, if cmd has a context, when it ends.
func Group(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = WaitDelay
}
