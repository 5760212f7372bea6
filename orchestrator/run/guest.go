package run

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/guestinit/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// event is an agent event with the host time it arrived.
type event struct {
	protocol.Event
	at  time.Time
	err error // a broken channel; the last value sent
}

// guest is one booted VM and the stream of its agent's events.
type guest struct {
	vm      *qemu.VM
	events  chan event
	console string // console log path, for error messages
	qemuLog string // QEMU's own output (qemu.log), for error messages; "" if unknown
	start   time.Time
}

// bootGuest listens on the control socket, starts QEMU and accepts its connection. Events
// are then read in the background into g.events, which is closed when the channel ends.
// eventLog receives every event line as it came; output, when not nil, each chunk of the
// workload's output with its stream (protocol.StreamStdout or StreamStderr) as it comes.
func bootGuest(ctx context.Context, argv []string, ctlSock, console string, qemuLog, eventLog io.Writer, output func(stream, data string)) (*guest, error) {
	ch, err := qemu.Listen(ctlSock)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	g := &guest{events: make(chan event, 64), console: console, start: time.Now()}
	if f, ok := qemuLog.(*os.File); ok {
		g.qemuLog = f.Name()
	}
	g.vm, err = qemu.Start(ctx, argv, qemuLog, qemuLog)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	// QEMU connects at start-up, before the guest runs; a QEMU that fails on its command line
	// exits instead, so wait for whichever comes first.
	acceptCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	go func() {
		select {
		case <-g.vm.Done():
			cancel()
		case <-acceptCtx.Done():
		}
	}()
	conn, err := ch.Accept(acceptCtx)
	cancel()
	ch.Close()
	if err != nil {
		g.stop()
		return nil, fmt.Errorf("qemu did not connect to the control socket: %w%s", err, g.exitNote())
	}
	go func() {
		defer close(g.events)
		defer conn.Close()
		dec := protocol.NewDecoder(io.TeeReader(conn, eventLog))
		for {
			ev, err := dec.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					g.events <- event{at: time.Now(), err: err}
				}
				return
			}
			if ev.Kind == protocol.EventOutput && output != nil {
				output(ev.Stream, ev.Data)
			}
			g.events <- event{Event: ev, at: time.Now()}
		}
	}()
	return g, nil
}

// toWriter is an output function for bootGuest that writes both streams to w.
func toWriter(w io.Writer) func(stream, data string) {
	return func(_, data string) { io.WriteString(w, data) }
}

// errTimedOut is the error of a guest that sent nothing before the deadline.
var errTimedOut = errors.New("timed out")

// errBootHung is the error of a guest whose console stopped before its agent spoke.
var errBootHung = errors.New("boot hung")

// consoleWatch tells how long a booting kernel's console has stayed as it is, as seen at each
// look, until the kernel runs the agent (initLine): from there the boot is the agent's, whose
// start can be silent for long on a loaded host and which the boot timeout covers.
type consoleWatch struct {
	path string
	size int64
	at   time.Time // when a look last saw it change (or when watching began)
	done bool      // the kernel ran the agent
}

// initLine is what the kernel prints as it runs the agent.
const initLine = "Run /init as init process"

// still returns how long the console has not grown, 0 once the kernel ran the agent.
func (w *consoleWatch) still() time.Duration {
	if w.done {
		return 0
	}
	if fi, err := os.Stat(w.path); err == nil && fi.Size() != w.size {
		w.size, w.at = fi.Size(), time.Now()
		if b, err := os.ReadFile(w.path); err == nil && bytes.Contains(b, []byte(initLine)) {
			w.done = true
			return 0
		}
	}
	return time.Since(w.at)
}

// next waits for the next event until deadline. ok is false when the channel ended.
func (g *guest) next(ctx context.Context, deadline time.Time, what string) (event, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case ev, ok := <-g.events:
		if !ok {
			return event{}, fmt.Errorf("the guest stopped reporting before %s%s", what, g.exitNote())
		}
		if ev.err != nil {
			return event{}, fmt.Errorf("control channel: %w", ev.err)
		}
		return ev, nil
	case <-t.C:
		return event{}, fmt.Errorf("%w after %s waiting for %s%s", errTimedOut, time.Since(g.start).Round(time.Second), what, g.consoleNote())
	case <-ctx.Done():
		return event{}, fmt.Errorf("interrupted while waiting for %s: %w", what, context.Cause(ctx))
	}
}

// exitNote says how QEMU ended, with the kernel's panic message or the console's last lines.
func (g *guest) exitNote() string {
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

// consoleNote says where the guest's console stopped, for a guest that is still running but
// silent: the last lines, or that the kernel printed nothing at all.
func (g *guest) consoleNote() string {
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

// stop powers the VM off the hard way if it is still running and waits until its whole
// process group is gone.
func (g *guest) stop() {
	select {
	case <-g.vm.Done():
	default:
		g.vm.Kill()
	}
	g.vm.Wait()
}

// waitExit gives a guest that reported done a moment to power off by itself.
func (g *guest) waitExit(d time.Duration) {
	select {
	case <-g.vm.Done():
	case <-time.After(d):
	}
	g.stop()
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
