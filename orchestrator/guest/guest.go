package guest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// Event is an agent event with the host time it arrived.
type Event struct {
	protocol.Event
	At  time.Time
	Err error // a broken control channel; the last value sent
}

// Guest is one started VM and the stream of its agent's events.
type Guest struct {
	vm      *qemu.VM
	events  chan Event
	console string // console log path, for error messages
	qemuLog string // QEMU's own output, for error messages; "" if unknown
	start   time.Time
}

// ErrTimedOut is the error of a guest that sent nothing before the deadline.
var ErrTimedOut = errors.New("timed out")

// ErrStillRunning is Wait's error for a guest that did not power off within its grace.
var ErrStillRunning = errors.New("the guest did not power off")

// Started is when QEMU was started.
func (g *Guest) Started() time.Time { return g.start }

// CPU is the user and system time of QEMU's process once it has exited; zeros while it runs.
func (g *Guest) CPU() (user, system time.Duration) { return g.vm.CPU() }

// Pid is QEMU's process id.
func (g *Guest) Pid() int { return g.vm.Pid() }

// Next waits for the next event until deadline; what names it in the error. The channel's end
// is an error that says how QEMU ended; the deadline's is ErrTimedOut with the console's end.
func (g *Guest) Next(ctx context.Context, deadline time.Time, what string) (Event, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case ev, ok := <-g.events:
		if !ok {
			return Event{}, fmt.Errorf("the guest stopped reporting before %s%s", what, g.ExitNote())
		}
		if ev.Err != nil {
			return Event{}, fmt.Errorf("control channel: %w", ev.Err)
		}
		return ev, nil
	case <-t.C:
		return Event{}, fmt.Errorf("%w after %s waiting for %s%s", ErrTimedOut, time.Since(g.start).Round(time.Second), what, g.ConsoleNote())
	case <-ctx.Done():
		return Event{}, fmt.Errorf("interrupted while waiting for %s: %w", what, context.Cause(ctx))
	}
}

// Done follows the events until the agent's done event, handing each to each (when not nil),
// and fails on the agent's first error, on the deadline or on the channel's end.
func (g *Guest) Done(ctx context.Context, deadline time.Time, what string, each func(Event)) error {
	for {
		ev, err := g.Next(ctx, deadline, what)
		if err != nil {
			return err
		}
		if each != nil {
			each(ev)
		}
		switch ev.Kind {
		case protocol.EventDone:
			return nil
		case protocol.EventError:
			return fmt.Errorf("agent: %s", ev.Error)
		}
	}
}

// ExitNote says how QEMU ended, with the kernel's panic message or the console's last lines;
// "" while QEMU is still running after a short wait.
func (g *Guest) ExitNote() string {
	select {
	case <-g.vm.Done():
	case <-time.After(3 * time.Second):
		return ""
	}
	note := "; qemu exited"
	if err := g.vm.Wait(); err != nil {
		note += " (" + err.Error() + ")"
	}
	if g.qemuLog != "" {
		if lines := tailLines(g.qemuLog, 3); len(lines) > 0 {
			note += "; qemu says: " + strings.Join(lines, " | ")
		}
	}
	lines := consoleLines(g.console)
	for i := len(lines) - 1; i >= 0; i-- {
		if j := strings.Index(lines[i], "Kernel panic"); j >= 0 {
			return note + "; guest kernel panic: " + lines[i][j:]
		}
	}
	if len(lines) > 0 {
		note += consoleEnd(lines)
	}
	return note
}

// ConsoleNote says where the guest's console stopped, for a guest that is still running but
// silent: the last lines, or that the kernel printed nothing at all.
func (g *Guest) ConsoleNote() string {
	lines := consoleLines(g.console)
	if len(lines) == 0 {
		return "; the guest's console is empty"
	}
	return consoleEnd(lines)
}

// consoleEnd quotes the console's last three lines for an error message.
func consoleEnd(lines []string) string {
	return "; console ends with: " + strings.Join(lines[max(0, len(lines)-3):], " | ")
}

// Exited reports, without waiting, whether QEMU has exited and then its exit error.
func (g *Guest) Exited() (bool, error) {
	select {
	case <-g.vm.Done():
		return true, g.vm.Wait()
	default:
		return false, nil
	}
}

// Stop powers the VM off the hard way if it is still running and waits until its whole
// process group is gone.
func (g *Guest) Stop() {
	select {
	case <-g.vm.Done():
	default:
		g.vm.Kill()
	}
	g.vm.Wait()
}

// Wait gives the guest up to grace to power off by itself (the agent does after its job), then
// stops it. It returns QEMU's exit error, or ErrStillRunning when it had to be stopped.
func (g *Guest) Wait(grace time.Duration) error {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-g.vm.Done():
		return g.vm.Wait()
	case <-t.C:
		g.Stop()
		return fmt.Errorf("%w within %s", ErrStillRunning, grace)
	}
}

// tailLines returns the last n non-empty lines of the file at path.
func tailLines(path string, n int) []string {
	lines := consoleLines(path)
	return lines[max(0, len(lines)-n):]
}

// consoleLines returns the non-empty lines of the last 256 KiB of the console log.
func consoleLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 256<<10 {
		f.Seek(-256<<10, io.SeekEnd)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
