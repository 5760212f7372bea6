// Command bootinit is the /init of TestRealBoot's guest: it prints a marker
// on the console and powers the VM off.
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	fmt.Fprintln(os.Stdout, "VMFSBENCH-QEMU-TEST-INIT-OK")
	syscall.Sync()
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintln(os.Stderr, "power off:", err)
	}
	select {}
}
