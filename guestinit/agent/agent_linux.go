package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/sys/unix"
)

// portWait bounds the wait for a virtio-serial port to appear after its module loaded.
const portWait = 5 * time.Second

// agent is one run of the job: where events and logs go.
type agent struct {
	o      options
	sink   *lateWriter
	enc    *protocol.Encoder
	log    io.Writer
	mirror bool     // also log events (but not output) to the console
	port   *os.File // the control port once open

	sendErr sync.Once
}

// now is the guest clock events are stamped with: CLOCK_MONOTONIC in seconds.
func now() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

// execute runs the job and reports how it ended: "done" and 0 after success, "error" and 1
// after a failure or a panic.
func execute(ctx context.Context, o options) int {
	// As PID 1 the console shows every event too, until it becomes the event channel itself.
	a := &agent{o: o, sink: &lateWriter{}, log: o.log, mirror: o.pid1}
	if a.log == nil {
		a.log = os.Stderr
	}
	a.enc = protocol.NewEncoder(a.sink)
	if o.events != nil {
		a.sink.attach(o.events)
	}
	err := a.safeRun(ctx)
	if a.sink.attached() == nil {
		a.openControl(ctx) // a failure before the port was opened still reaches the host
	}
	code := 0
	if err != nil {
		a.logf("failed: %v", err)
		a.send(protocol.Event{Kind: protocol.EventError, Error: err.Error()})
		code = 1
	} else {
		a.send(protocol.Event{Kind: protocol.EventDone})
	}
	if a.port != nil {
		a.port.Sync() // virtio ports may not implement fsync; writes already wait for the host
		a.port.Close()
	}
	if o.pid1 {
		unix.Sync()
	}
	return code
}

// safeRun turns a panic of run into an error, keeping the stack on the console.
func (a *agent) safeRun(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.logf("panic: %v\n%s", r, debug.Stack())
			err = fmt.Errorf("agent panic: %v", r)
		}
	}()
	return a.run(ctx)
}

func (a *agent) run(ctx context.Context) error {
	if a.o.pid1 {
		if err := setupPID1(); err != nil {
			a.logf("%v", err) // keep going: the port may still work
		}
		a.log = os.Stderr // now the console
	}
	a.send(protocol.Event{Kind: protocol.EventReady,
		Msg: fmt.Sprintf("vmfsbench agent pid %d %s %s/%s", os.Getpid(), runtime.Version(), runtime.GOOS, runtime.GOARCH)})

	job, jobErr := loadJob(a.o.jobPath, a.o.modulesPath)
	var mods []string
	if job != nil {
		mods = job.Modules
		a.logf("cell %s", job.Cell)
	} else if data, err := os.ReadFile(a.o.modulesPath); err == nil {
		// The job is broken, but the list may still bring up the port to report it.
		mods = protocol.ParseModuleList(data)
	}
	modErr := a.loadModules(mods)
	if a.sink.attached() == nil {
		a.openControl(ctx)
	}
	if modErr != nil {
		return modErr
	}
	if jobErr != nil {
		return jobErr
	}
	if err := a.fault(ctx, job.Fault); err != nil {
		return err
	}
	for i, s := range job.Steps {
		if err := a.step(ctx, i, s); err != nil {
			return err
		}
	}
	if err := a.workload(ctx, job); err != nil {
		return err
	}
	return a.verify(ctx, job)
}

// loadJob reads the job at jobPath; when it lists no modules they come from modulesPath,
// which may be missing.
func loadJob(jobPath, modulesPath string) (*protocol.Job, error) {
	f, err := os.Open(jobPath)
	if err != nil {
		return nil, fmt.Errorf("reading job: %w", err)
	}
	defer f.Close()
	job, err := protocol.DecodeJob(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", jobPath, err)
	}
	if len(job.Modules) == 0 {
		data, err := os.ReadFile(modulesPath)
		switch {
		case err == nil:
			job.Modules = protocol.ParseModuleList(data)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("reading module list: %w", err)
		}
		if err := job.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", modulesPath, err)
		}
	}
	return job, nil
}

// loadModules loads the modules in order and reports them in one "modules" event.
func (a *agent) loadModules(mods []string) error {
	start := now()
	if !a.o.pid1 {
		a.send(protocol.Event{Kind: protocol.EventModules, Msg: fmt.Sprintf("skipped %d modules: not PID 1", len(mods)),
			Result: &protocol.Result{}})
		return nil
	}
	var table bytes.Buffer
	var failed error
	loaded := 0
	for _, m := range mods {
		t0 := now()
		status, err := loadModule(filepath.Join(a.o.modulesDir, m))
		fmt.Fprintf(&table, "%s\t%.3f\t%s\n", m, now()-t0, status)
		if err != nil {
			failed = err
			break
		}
		if status != "ok" {
			a.logf("module %s: %s", m, status)
		}
		loaded++
	}
	ev := protocol.Event{Kind: protocol.EventModules, Msg: fmt.Sprintf("loaded %d of %d modules", loaded, len(mods)),
		Data: table.String(), Result: &protocol.Result{Seconds: now() - start}}
	if failed != nil {
		ev.Error = failed.Error()
	}
	a.send(ev)
	return failed
}

// openControl attaches the event stream to the control port, or to the console when the
// port does not show up (so that a console-only boot can still be debugged).
func (a *agent) openControl(ctx context.Context) {
	if !a.o.pid1 {
		a.sink.attach(a.log)
		return
	}
	f, err := a.openPort(ctx, protocol.ControlPort, os.O_WRONLY)
	if err != nil {
		a.logf("no control port, events go to the console: %v", err)
		a.mirror = false
		a.sink.attach(os.Stdout)
		return
	}
	a.port = f
	if err := a.sink.attach(f); err != nil {
		a.logf("sending held events: %v", err)
	}
}

// openPort opens the virtio-serial port with the given name, waiting a little for it.
func (a *agent) openPort(ctx context.Context, name string, flag int) (*os.File, error) {
	var dev string
	if a.o.portDir != "" {
		dev = filepath.Join(a.o.portDir, name)
	} else {
		if !a.o.pid1 {
			return nil, fmt.Errorf("port %q: not PID 1 and no -ports directory", name)
		}
		var err error
		if dev, err = findPort(ctx, name, portWait); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(dev, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", name, err)
	}
	return f, nil
}

// fault is the test hook of protocol.Job.Fault.
func (a *agent) fault(ctx context.Context, fault string) error {
	switch fault {
	case "":
		return nil
	case protocol.FaultPanic:
		panic("fault injection: panic")
	case protocol.FaultHang:
		a.logf("fault injection: hanging")
		// A pending timer keeps the runtime from declaring a deadlock and exiting.
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Hour):
			}
		}
	case protocol.FaultKernelPanic:
		if os.Getpid() != 1 {
			return errors.New("fault kernel-panic: refusing to crash a kernel that is not the guest's (not PID 1)")
		}
		a.logf("fault injection: kernel panic")
		if err := os.WriteFile("/proc/sys/kernel/sysrq", []byte("1"), 0); err != nil {
			return err
		}
		if err := os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0); err != nil {
			return err
		}
		return errors.New("fault kernel-panic: the kernel survived sysrq-c")
	}
	return fmt.Errorf("unknown fault %q", fault)
}

// step runs one step between a step-start and a step-end event.
func (a *agent) step(ctx context.Context, i int, s protocol.Step) error {
	label := s.Label(i)
	a.send(protocol.Event{Kind: protocol.EventStepStart, Step: label, Msg: describeStep(s)})
	start := now()
	res, err := a.runStep(ctx, i, s)
	res.Seconds = now() - start
	ev := protocol.Event{Kind: protocol.EventStepEnd, Step: label, Result: &res}
	if err != nil {
		ev.Error = err.Error()
	}
	a.send(ev)
	if err != nil {
		return fmt.Errorf("step %s: %w", label, err)
	}
	return nil
}

func (a *agent) runStep(ctx context.Context, i int, s protocol.Step) (protocol.Result, error) {
	var res protocol.Result
	needPID1 := func() error {
		if !a.o.pid1 || os.Getpid() != 1 {
			return fmt.Errorf("%s: refusing outside the guest (not PID 1)", s.Kind)
		}
		return nil
	}
	switch s.Kind {
	case protocol.StepMkdir:
		mode := os.FileMode(0o755)
		if s.Mode != 0 {
			mode = os.FileMode(s.Mode) & os.ModePerm
		}
		return res, os.MkdirAll(s.Path, mode)
	case protocol.StepMount:
		if err := needPID1(); err != nil {
			return res, err
		}
		if s.DAX {
			if err := daxMount(ctx, s); err != nil {
				return res, err
			}
			if err := armDAXTrace(); err != nil {
				a.logf("DAX faults will not be counted: %v", err)
			}
			return res, nil
		}
		return res, mountStep(s)
	case protocol.StepOverlay:
		if err := needPID1(); err != nil {
			return res, err
		}
		return res, overlayStep(s, i)
	case protocol.StepNetUp:
		if err := needPID1(); err != nil {
			return res, err
		}
		return res, netUp(s)
	case protocol.StepSync:
		unix.Sync()
		return res, nil
	case protocol.StepReceiveTar:
		f, err := a.openPort(ctx, s.Port, os.O_RDONLY)
		if err != nil {
			return res, err
		}
		defer f.Close()
		res, n, err := extractTar(ctx, bufio.NewReaderSize(awaitHost(ctx, f, s.Port), 1<<20), s.Target)
		a.send(protocol.Event{Kind: protocol.EventLog, Step: s.Label(i),
			Msg: fmt.Sprintf("received %d tar bytes: %d files, %d symlinks, %d content bytes", n, res.Files, res.Symlinks, res.Bytes)})
		if err != nil {
			return res, fmt.Errorf("receiving into %s: %w", s.Target, err)
		}
		return res, nil
	case protocol.StepSSHD:
		if err := needPID1(); err != nil {
			return res, err
		}
		return a.sshdStep(ctx, i, s)
	}
	return res, fmt.Errorf("unknown step kind %q", s.Kind)
}

// workload runs the job's workload between step events labelled "workload" and reports its
// result.
func (a *agent) workload(ctx context.Context, job *protocol.Job) error {
	w := job.Workload
	if w.Kind == "" {
		return nil
	}
	root := w.Root
	if root == "" {
		root = job.Mountpoint
	}
	untimed := ctx // read-all's digest pass runs after the timed workload, outside its timeout
	if w.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(w.Timeout*float64(time.Second)))
		defer cancel()
	}
	const label = "workload"
	a.send(protocol.Event{Kind: protocol.EventStepStart, Step: label, Msg: w.Kind + " " + root})
	start := now()
	faultsAtStart := readFaults()
	var res protocol.Result
	var err error
	ran := true    // whether res means something even if err is set
	ended := false // whether the step-end was sent (read-all sends it before its digest pass)
	switch w.Kind {
	case protocol.WorkloadReadAll:
		res, err = readAllVerified(ctx, untimed, root, w.Readers, func(r *protocol.Result) {
			r.PageCacheKiB = pageCacheKiB()
			faultsAtStart.since(r)
			end := *r
			end.Seconds = now() - start
			a.send(protocol.Event{Kind: protocol.EventStepEnd, Step: label, Result: &end})
			ended = true
		})
		ran = err == nil
	case protocol.WorkloadStatAll:
		res, err = statAll(ctx, root)
		ran = err == nil
	case protocol.WorkloadExec:
		res, err = runExec(ctx, w, root, func(stream, data string) {
			a.send(protocol.Event{Kind: protocol.EventOutput, Step: label, Stream: stream, Data: data})
		})
		ran = !errors.As(err, new(startError))
	default:
		err = fmt.Errorf("unknown workload kind %q", w.Kind)
		ran = false
	}
	if errors.Is(err, context.DeadlineExceeded) && w.Kind != protocol.WorkloadExec {
		err = fmt.Errorf("workload timed out after %gs: %w", w.Timeout, err)
	}
	if ended {
		if err != nil {
			a.logf("workload: %v", err)
		}
	} else {
		if ran { // read-all, which measures these at the end of its timed pass, ended above
			res.PageCacheKiB = pageCacheKiB()
			faultsAtStart.since(&res)
		}
		end := protocol.Event{Kind: protocol.EventStepEnd, Step: label, Result: &protocol.Result{Seconds: now() - start}}
		if ran {
			r := res
			r.Seconds = end.Result.Seconds // the guest clock, the measured span is res.Seconds
			end.Result = &r
		}
		if err != nil {
			end.Error = err.Error()
		}
		a.send(end)
	}
	if ran {
		res.Mounts = treeMounts(path.Join("/", w.Chroot, root))
		if w.Kind == protocol.WorkloadExec && w.LitReport != "" {
			// After the step's end: reading the report is not the workload's time.
			var lerr error
			if res.Tests, lerr = litReport(litReportPath(w, root)); lerr != nil {
				a.logf("workload: no per-test results: %v", lerr)
			}
		}
		a.send(protocol.Event{Kind: protocol.EventResult, Step: label, Result: &res})
	}
	return err
}

// send stamps ev with the clock if it has no time yet and sends it; a failing channel is
// logged once (the host notices the missing "done").
func (a *agent) send(ev protocol.Event) {
	if ev.T == 0 {
		ev.T = now()
	}
	if err := a.enc.Send(ev); err != nil {
		a.sendErr.Do(func() { a.logf("event channel: %v", err) })
	}
	if a.mirror && ev.Kind != protocol.EventOutput {
		a.logf("%s", describeEvent(ev))
	}
}

// describeEvent is the console line for an event.
func describeEvent(ev protocol.Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Kind))
	if ev.Step != "" {
		b.WriteString(" " + ev.Step)
	}
	if ev.Msg != "" {
		b.WriteString(": " + ev.Msg)
	}
	if r := ev.Result; r != nil {
		if ev.Kind == protocol.EventResult {
			fmt.Fprintf(&b, " files=%d symlinks=%d bytes=%d entries=%d exit=%d digest=%s", r.Files, r.Symlinks, r.Bytes, r.Entries, r.ExitCode, r.Digest)
			if r.VerifySeconds > 0 {
				fmt.Fprintf(&b, " digest-pass=%.3fs", r.VerifySeconds)
			}
		}
		fmt.Fprintf(&b, " (%.3fs)", r.Seconds)
	}
	if ev.Error != "" {
		b.WriteString(" error: " + ev.Error)
	}
	return b.String()
}

// logf writes one timestamped line to the console (or stderr on the host).
func (a *agent) logf(format string, args ...any) {
	fmt.Fprintf(a.log, "[%11.6f] vmfsbench-agent: %s\n", now(), fmt.Sprintf(format, args...))
}

// lateWriter holds what is written until a destination is attached: the agent sends "ready"
// before the module that provides the control port is loaded.
type lateWriter struct {
	mu   sync.Mutex
	w    io.Writer
	held bytes.Buffer
}

func (l *lateWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return l.held.Write(p)
	}
	return l.w.Write(p)
}

// attach sends what was held to w and everything after it too.
func (l *lateWriter) attach(w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w = w
	if l.held.Len() == 0 {
		return nil
	}
	_, err := w.Write(l.held.Bytes())
	l.held = bytes.Buffer{}
	return err
}

func (l *lateWriter) attached() io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w
}
