package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/guest"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/results"
)

// Log files of a cell, in its log directory.
const (
	EventsFile = "events.jsonl"
	OutputFile = "output.log"
	QEMUFile   = "qemu.log"
	HostFile   = "host.log" // host commands: image builds, daemons
)

// phaseOf maps a step kind to the phase its time counts in.
var phaseOf = map[method.StepKind]results.Phase{
	method.StepPrepareCache: results.PhasePrepareCache, method.StepBuildImage: results.PhaseBuild,
	method.StepStartDaemon: results.PhaseStartDaemon, method.StepInitramfs: results.PhaseBoot, method.StepBoot: results.PhaseBoot,
	method.StepTransfer: results.PhaseTransfer, method.StepMount: results.PhaseMount,
	method.StepWorkload: results.PhaseWorkload, method.StepTeardown: results.PhaseTeardown,
}

// cellRun is the state of one cell while it runs.
type cellRun struct {
	r     *Runner
	c     plan.Cell
	res   *results.Cell
	log   *method.Log // host.log, and the commands the cell's steps ran
	guest *guest.Guest
	files []io.Closer
	after []func() // teardown actions of the host steps, run in reverse
	// capped are the logs of the guest's output, finished after teardown.
	capped []*capFile
	abort  context.CancelCauseFunc
	// workloadEnd is when the guest reported the end of the measured workload; what follows
	// until it is done (read-all's digest pass, --verify) counts as the verify phase.
	workloadEnd time.Time
	// hungBoot is the time of boot attempts that hung, left out of the boot phase.
	hungBoot float64
	// hostCause says how the host, not the method, failed the cell (verdict.go); "" if not.
	hostCause string
	// signal is the signal that ended an exec workload; notStarted says that the workload
	// could not start.
	signal     int
	notStarted bool
	// litTests are lit's per-test results the agent sent with the workload's result.
	litTests []results.LitResult
	// guests are the cell's VMs, one per boot attempt, for their CPU time.
	guests []*guest.Guest
}

// RunCell runs one planned cell to the end, executing exactly its steps, and returns its
// result; it never panics on a cell error.
func (r *Runner) RunCell(ctx context.Context, c plan.Cell) *results.Cell {
	return r.runCell(ctx, c).res
}

// runCell runs the cell and returns its state at the end.
func (r *Runner) runCell(ctx context.Context, c plan.Cell) *cellRun {
	res := &results.Cell{ID: c.ID, Group: c.Group, Method: c.Method, Params: c.Params, Cache: c.Cache,
		Repetition: c.Repetition, Phases: map[results.Phase]float64{}, Accel: c.Guest.Accel,
		Warnings: slices.Clip(c.Warnings), Facts: c.Facts, HostPort: c.HostPort, Scale: c.Scale, Start: time.Now()}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	cr := &cellRun{r: r, c: c, res: res, log: &method.Log{}, abort: abort}
	cpu := newCPUMeter()
	if err := cr.setup(); err != nil {
		cr.fail(ctx, "", &hostError{err})
	} else if c.Refused != "" {
		res.Error = "refused before timing: " + c.Refused
	} else if cr.checkTree(ctx, "before the cell") {
		for _, s := range c.Steps {
			if s.Kind == method.StepTeardown {
				break // always done below, also after a failure
			}
			t0 := time.Now()
			r.Progress.Phase(string(s.Kind))
			cpu.stepStart()
			err := cr.do(ctx, s)
			cpu.stepEnd(phaseOf[s.Kind])
			res.Phases[phaseOf[s.Kind]] += time.Since(t0).Seconds() - cr.verifyPhase(s.Kind) - cr.hungBoot
			cr.hungBoot = 0
			for _, argv := range cr.log.Commands() {
				res.Commands = append(res.Commands, results.Command{Step: string(s.Kind), Argv: argv})
			}
			if err != nil {
				cr.fail(ctx, s.Kind, err)
				break
			}
			if s.Kind == method.StepBuildImage && !cr.checkTree(ctx, "after the image build") {
				break
			}
		}
		if res.Error == "" {
			cr.checkTree(ctx, "after the workload")
		}
	}
	t0 := time.Now()
	cr.teardown()
	for _, c := range cr.capped {
		w, err := c.finish()
		if err != nil {
			fmt.Fprintf(cr.log, "writing the end of %s: %v\n", c.name, err)
		}
		if w != "" {
			res.Warnings = append(res.Warnings, w)
		}
	}
	res.Phases[results.PhaseTeardown] = time.Since(t0).Seconds()
	qemuCPU := 0.0
	for _, vm := range cr.guests {
		u, s := vm.CPU()
		qemuCPU += (u + s).Seconds()
	}
	res.CPU = cpu.result(qemuCPU)
	res.Finish(time.Now())
	cr.verdict()
	if res.Error != "" {
		fmt.Fprintf(cr.log, "cell failed: %s\n", res.Error)
	}
	for _, f := range cr.files {
		f.Close()
	}
	return cr
}

func (cr *cellRun) setup() error {
	for _, d := range []string{cr.c.Work, cr.c.Sockets, cr.c.Logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := private(cr.c.Work, cr.c.Sockets); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(cr.c.Logs, HostFile))
	if err != nil {
		return err
	}
	cr.log.W = f
	cr.files = append(cr.files, f)
	return nil
}

func (cr *cellRun) create(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(cr.c.Logs, name))
	if err == nil {
		cr.files = append(cr.files, f)
	}
	return f, err
}

func (cr *cellRun) do(ctx context.Context, s method.Step) error {
	switch s.Kind {
	case method.StepPrepareCache:
		check, err := prepareCache(ctx, cr.c.Cache, cr.r.Tree.Path, cr.r.Tree.Matcher)
		cr.res.CacheCheck = check
		return err
	case method.StepBuildImage, method.StepStartDaemon, method.StepTransfer:
		return cr.hostStep(ctx, s)
	case method.StepInitramfs:
		return cr.initramfs(ctx)
	case method.StepBoot:
		return cr.boot(ctx, s)
	case method.StepMount:
		return cr.mount(ctx)
	case method.StepWorkload:
		return cr.workload(ctx)
	}
	return fmt.Errorf("unknown step kind %q", s.Kind)
}

// hostStep runs a method's host step: its Go code when it has some, else its commands.
func (cr *cellRun) hostStep(ctx context.Context, s method.Step) error {
	if handled, err := cr.cachedHostStep(ctx, s); handled {
		return err
	}
	return cr.runHostStep(ctx, s)
}

func (cr *cellRun) runHostStep(ctx context.Context, s method.Step) error {
	env := method.Env{Log: cr.log, Matcher: cr.r.Tree.Matcher, Abort: cr.abort}
	if s.Run == nil {
		return method.RunCommands(ctx, env, s.Commands)
	}
	undo, err := s.Run(ctx, env)
	if undo != nil {
		cr.after = append(cr.after, undo)
	}
	if err != nil && s.Kind == method.StepTransfer {
		err = cr.guestSide(ctx, err)
	}
	return err
}

// guestSaysWithin bounds how long a failed transfer waits for the guest's own error.
const guestSaysWithin = 10 * time.Second

// guestSide adds to a failed transfer the guest's reason, when the agent reports one soon: a
// stream breaks on the host as "broken pipe" because the guest's tar stopped reading, and the
// guest says why (no space left on the device, say).
func (cr *cellRun) guestSide(ctx context.Context, err error) error {
	if cr.guest == nil {
		return err
	}
	deadline := time.Now().Add(guestSaysWithin)
	for {
		ev, gerr := cr.guest.Next(ctx, deadline, "the guest's side of the failed transfer")
		if gerr != nil {
			return err
		}
		if ev.Kind == protocol.EventError {
			return fmt.Errorf("%w; the guest says: %s", err, ev.Error)
		}
	}
}

// initramfs writes the cell's initramfs (the cached base archive and the cell's job) where
// the planned QEMU command expects it.
func (cr *cellRun) initramfs(ctx context.Context) error {
	base, mods, err := cr.c.Guest.WriteInitramfs(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(mods))
	for i, m := range mods {
		names[i] = m.Name
	}
	fmt.Fprintf(cr.log, "initramfs %s: modules %s\n", base, strings.Join(names, " "))
	return nil
}

// boot starts the cell's guest from the initramfs its initramfs step wrote and waits for the
// agent to report; a guest whose agent never spoke is booted again (bootAttempts). Every
// boot's command is recorded.
func (cr *cellRun) boot(ctx context.Context, s method.Step) error {
	session := cr.c.Guest
	argv, err := session.Command()
	if err != nil {
		return err
	}
	if len(s.Commands) != 1 || !slices.Equal(argv, s.Commands[0]) {
		return fmt.Errorf("the boot step's commands %q are not the cell's guest's %q", s.Commands, argv)
	}
	qlog, err := cr.create(QEMUFile)
	if err != nil {
		return err
	}
	evlog, err := cr.create(EventsFile)
	if err != nil {
		return err
	}
	out, err := cr.create(OutputFile)
	if err != nil {
		return err
	}
	evc := newCapFile(evlog, EventsFile, cr.c.Limits.OutputCap, true)
	outc := newCapFile(out, OutputFile, cr.c.Limits.OutputCap, false)
	cr.capped = append(cr.capped, evc, outc)
	stdout, stderr := cr.outputs(outc)
	logs := guest.Logs{QEMU: qlog, Events: evc, Stdout: stdout, Stderr: stderr, Started: func(argv []string) {
		cr.log.Ran(argv)
		fmt.Fprintf(cr.log, "$ %s\n", qemu.Quote(argv))
	}}
	for attempt := 1; ; attempt++ {
		t0 := time.Now()
		vm, timeout := session, cr.c.Limits.Boot
		if cr.r.hangFirstBoot > 0 && attempt == 1 {
			vm.Args, timeout = append(slices.Clone(vm.Args), "-S"), cr.r.hangFirstBoot
		}
		silence := cr.bootSilence()
		if attempt == bootAttempts {
			silence = 0 // the last attempt waits out the boot timeout
		}
		heard, err := cr.bootOnce(ctx, &vm, timeout, silence, logs)
		if err == nil || heard || !(errors.Is(err, guest.ErrTimedOut) || errors.Is(err, errBootHung) || errors.Is(err, errQEMUCrashed)) || attempt == bootAttempts {
			return err
		}
		// The agent never spoke: the guest hung in its boot, or QEMU crashed, which says
		// nothing of the method. Keep that console and boot again.
		cr.guest.Stop()
		kept := fmt.Sprintf("console.attempt%d.log", attempt)
		if rerr := os.Rename(cr.c.Console(), filepath.Join(cr.c.Logs, kept)); rerr != nil {
			kept = "lost: " + rerr.Error()
		}
		w := fmt.Sprintf("boot attempt %d: %v; booted again (its console: %s)", attempt, err, kept)
		fmt.Fprintln(cr.log, w)
		cr.res.Warnings = append(cr.res.Warnings, w)
		cr.hungBoot += time.Since(t0).Seconds()
	}
}

// bootAttempts is how many times a cell boots a guest whose agent has not spoken by the boot
// timeout. Under TCG a guest kernel now and then hangs early in its boot (seen in CI: riscv64
// right after OpenSBI, x86_64 with an empty console) while the same cell boots in seconds the
// next time. The time of a hung attempt is not the boot phase's; the cell warns of it.
// Three: the study's riscv64 guest (2 harts, load 6 on 2 cores) hung twice in a row at
// "smp: Bringing up secondary CPUs" in one cell of 3; a watched console costs a minute an
// attempt.
const bootAttempts = 3

// bootSilence is how long the console may stay still in the boot before it is taken as hung
// (errBootHung): the cell's Limits.BootSilence, 0 for a console not watched.
func (cr *cellRun) bootSilence() time.Duration {
	return cmp.Or(cr.r.silence, cr.c.Limits.BootSilence)
}

// bootOnce starts the guest and waits up to timeout for the agent's modules report; while the
// agent has not spoken, a console still for silence (if not 0) ends the wait with errBootHung.
// heard says whether the agent sent anything at all.
func (cr *cellRun) bootOnce(ctx context.Context, s *guest.Session, timeout, silence time.Duration, logs guest.Logs) (heard bool, err error) {
	cr.guest, err = s.Start(ctx, logs)
	if err != nil {
		return false, err
	}
	cr.guests = append(cr.guests, cr.guest)
	deadline := cr.guest.Started().Add(timeout)
	watch := consoleWatch{path: cr.c.Console(), at: cr.guest.Started()}
	for {
		until := deadline
		if look := time.Now().Add(time.Second); silence > 0 && !heard && look.Before(deadline) {
			until = look
		}
		ev, err := cr.guest.Next(ctx, until, "the agent to start (boot timeout "+timeout.String()+")")
		if errors.Is(err, guest.ErrTimedOut) && time.Now().Before(deadline) {
			if watch.still() < silence {
				continue
			}
			return heard, fmt.Errorf("%w: the kernel's console was still for %s before it ran the agent%s", errBootHung, silence, cr.guest.ConsoleNote())
		}
		if err != nil && !heard && !errors.Is(err, guest.ErrTimedOut) {
			return heard, startupExit(cr.guest, err)
		}
		if err != nil {
			return heard, err
		}
		heard = true
		switch ev.Kind {
		case protocol.EventError:
			return heard, fmt.Errorf("agent: %s", ev.Error)
		case protocol.EventModules:
			if ev.Result != nil {
				cr.res.Guest.ModulesSeconds = ev.Result.Seconds
			}
			return heard, nil
		}
	}
}

// mount follows the agent through the job's steps.
func (cr *cellRun) mount(ctx context.Context) error {
	if len(cr.c.Job.Steps) == 0 {
		return nil
	}
	last := cr.c.Job.Steps[len(cr.c.Job.Steps)-1].Label(len(cr.c.Job.Steps) - 1)
	deadline := time.Now().Add(cr.c.Limits.Workload)
	for {
		ev, err := cr.guest.Next(ctx, deadline, "the guest steps")
		if err != nil {
			return err
		}
		switch {
		case ev.Kind == protocol.EventError:
			return fmt.Errorf("agent: %s", ev.Error)
		case ev.Kind == protocol.EventStepEnd && ev.Step == last:
			return nil
		}
	}
}

// workloadGrace is how long past the workload timeout the host waits for the agent's own
// timeout to report before it kills the VM.
const workloadGrace = 30 * time.Second

func (cr *cellRun) workload(ctx context.Context) error {
	if cr.c.Job.Workload.Kind == protocol.WorkloadExec {
		defer cr.recordLit(filepath.Join(cr.c.Logs, OutputFile)) // also when lit failed
	}
	deadline := time.Now().Add(cr.c.Limits.Workload + workloadGrace)
	var failure error
	for {
		ev, err := cr.guest.Next(ctx, deadline, "the workload (timeout "+cr.c.Limits.Workload.String()+")")
		if err != nil {
			if failure != nil {
				return failure
			}
			return err
		}
		switch ev.Kind {
		case protocol.EventStepEnd:
			if ev.Step == "workload" && ev.Error != "" && ev.Result != nil && ev.Result.ExitCode == 0 && ev.Result.Signal == 0 {
				cr.notStarted = true // no result follows; if one does, the command ran
			}
			if ev.Step == "workload" && ev.Error == "" {
				cr.workloadEnd = ev.At
				cr.recordMemory(ev.Result)
				// read-all's digest pass follows, untimed: it gets the workload's time again.
				deadline = time.Now().Add(cr.c.Limits.Workload + workloadGrace)
			}
		case protocol.EventResult:
			cr.record(ev.Result)
		case protocol.EventVerify:
			if v := ev.Verify; v != nil {
				cr.res.Verify = &results.Verify{Owners: v.Owners, WriteError: v.WriteError,
					LowerChecked: cr.c.Job.Verify != nil && cr.c.Job.Verify.Lower != "", LowerWriteError: v.LowerWriteError}
				if cr.res.Verify.LowerChecked && v.LowerWriteError == "" && failure == nil {
					failure = fmt.Errorf("verify: a write to the read-only lower layer %s succeeded: the guest can write the host tree",
						cr.c.Job.Verify.Lower)
				}
			}
		case protocol.EventError:
			failure = fmt.Errorf("agent: %s", ev.Error)
			// The agent powers off next; keep reading so the result is complete.
		case protocol.EventDone:
			if failure != nil {
				return failure
			}
			return cr.checkDigest()
		}
	}
}

func (cr *cellRun) record(r *protocol.Result) {
	if r == nil {
		return
	}
	g := &cr.res.Guest
	g.WorkloadSeconds, g.Files, g.Symlinks, g.Bytes, g.Entries = r.Seconds, r.Files, r.Symlinks, r.Bytes, r.Entries
	g.VerifySeconds = r.VerifySeconds
	g.PageFaults, g.MajorFaults = r.PageFaults, r.MajorFaults
	if d := r.DAX; d != nil {
		g.DAX = &results.DAXFaults{PMD: d.PMD, PMDFallback: d.PMDFallback, PTE: d.PTE}
	}
	if cr.c.Job.Workload.Kind == protocol.WorkloadExec {
		code := r.ExitCode
		cr.res.ExitCode = &code
		cr.signal, cr.notStarted = r.Signal, false
	}
	cr.res.Digest = r.Digest
	cr.res.Mounts = r.Mounts
	if r.Tests != nil {
		cr.litTests = make([]results.LitResult, len(r.Tests))
		for i, t := range r.Tests {
			cr.litTests[i] = results.LitResult{Name: t.Name, Code: t.Code, Seconds: t.Seconds}
		}
	}
}

// recordMemory notes, at the end of the workload, QEMU's resident memory on the host and the
// guest's page cache.
func (cr *cellRun) recordMemory(r *protocol.Result) {
	m, err := qemuMemory(cr.guest.Pid())
	if err != nil {
		fmt.Fprintf(cr.log, "QEMU's memory at the end of the workload: %v\n", err)
		m = &results.Memory{}
	}
	if r != nil {
		m.GuestPageCacheKiB = r.PageCacheKiB
	}
	cr.res.Memory = m
}

// verifyPhase moves the time after the workload's end out of the workload phase, into the
// verify phase; it returns how much it moved.
func (cr *cellRun) verifyPhase(k method.StepKind) float64 {
	if k != method.StepWorkload || cr.workloadEnd.IsZero() {
		return 0
	}
	v := max(0, time.Since(cr.workloadEnd).Seconds())
	cr.res.Phases[results.PhaseVerify] += v
	return v
}

func (cr *cellRun) checkDigest() error {
	want := cr.r.Tree.Want
	if cr.c.Job.Workload.Kind != protocol.WorkloadReadAll || want == nil {
		return nil
	}
	ok := cr.res.Digest == want.Digest
	cr.res.DigestOK = &ok
	if !ok {
		return fmt.Errorf("the guest saw a different tree: digest %s (%d files, %d bytes), host %s (%d files, %d bytes)",
			cr.res.Digest, cr.res.Guest.Files, cr.res.Guest.Bytes, want.Digest, want.Files, want.Bytes)
	}
	return nil
}

// teardown stops the guest and the method's helpers and removes the cell's work files.
func (cr *cellRun) teardown() {
	if cr.guest != nil {
		if cr.res.Error == "" {
			cr.guest.Wait(10 * time.Second) // it reported done and is powering off
		} else {
			cr.guest.Stop()
		}
	}
	for i := len(cr.after) - 1; i >= 0; i-- {
		cr.after[i]()
	}
	os.RemoveAll(cr.c.Work)
	os.RemoveAll(cr.c.Sockets)
}
