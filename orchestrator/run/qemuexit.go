package run

import (
	"fmt"
	"strings"
	"time"
)

// startupExit describes a QEMU that exited before the guest's agent said anything (a bad
// option in qemu.args, a kernel QEMU cannot load) as what it is, instead of err, which
// speaks of the wait for the agent (and of the boot timeout it never reached). err stays
// when QEMU is still running.
func (g *guest) startupExit(err error) error {
	select {
	case <-g.vm.Done():
	default:
		return err
	}
	after := time.Since(g.start).Round(100 * time.Millisecond)
	note := strings.TrimPrefix(g.exitNote(), "; qemu exited")
	return fmt.Errorf("qemu exited %s after it started, before the guest's agent said anything: it did not boot the guest (not a boot timeout)%s", after, note)
}
