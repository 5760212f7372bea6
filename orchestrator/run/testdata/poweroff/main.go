// Command poweroff is the trivial /init the boot benchmark compares the agent with: it powers
// the VM off as soon as the kernel starts it.
package main

import "golang.org/x/sys/unix"

func main() {
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}
