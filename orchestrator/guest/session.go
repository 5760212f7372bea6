// Package guest boots one vmfsbench guest: a kernel with the agent as /init and a job, under
// QEMU with a control port, and follows the agent's events until it powers off. Every VM
// vmfsbench starts (a cell, the accelerator probe, a root file system's second stage, the
// bench's boot figure) is a Session, so they share one command line, one initramfs and one
// event loop, and each records the command of every boot it makes.
package guest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
)

// Session is one guest: what it boots, on what, with which devices, and where its files are.
// Its zero values are QEMU's package defaults (qemu.Build).
type Session struct {
	Arch    qemu.Arch
	Binary  string // the QEMU binary; "" = the arch's
	Machine string // "" = the arch's
	Accel   string // kvm or tcg; "" = qemu.DefaultAccel
	CPUs    int    // 0 = qemu.DefaultCPUs
	Memory  int64  // bytes; 0 = qemu.DefaultMemory
	Kernel  string // the kernel image
	// Devices are attached after the control port, in order (block devices first make the
	// tree's disk /dev/vda).
	Devices []qemu.Fn
	// Args are appended to the command line verbatim (the spec's qemu.args).
	Args []string
	// Image is the initramfs WriteInitramfs writes to Files.Initrd: the agent, the modules and
	// the job. Without an agent, Files.Initrd is taken as it is (a test's own /init).
	Image Image
	Files Files
}

// Image is the content of a session's initramfs: a base archive cached by its inputs (the
// agent, the modules' closure, the extra files) and the job appended to it.
type Image struct {
	Cache string         // vmfsbench's cache directory, where base archives are kept
	Base  initramfs.Base // the agent, modules and extras
	Job   protocol.Job
}

// Files are where a session's initramfs, console log and control socket are.
type Files struct {
	Initrd  string
	Console string
	Control string // a unix socket: a short path
}

// FilesIn names a session's files inside dir, which should be short (it holds a socket).
func FilesIn(dir string) Files {
	return Files{Initrd: filepath.Join(dir, "initrd"), Console: filepath.Join(dir, "console"), Control: filepath.Join(dir, "ctl")}
}

// Options are the QEMU options of the session: machine, kernel, its initramfs, console and
// control port, then its devices and raw arguments.
func (s *Session) Options() []qemu.Fn {
	fns := []qemu.Fn{qemu.WithArch(s.Arch)}
	if s.CPUs != 0 {
		fns = append(fns, qemu.WithCPUs(s.CPUs))
	}
	if s.Memory != 0 {
		fns = append(fns, qemu.WithMemory(s.Memory))
	}
	fns = append(fns,
		qemu.WithKernel(s.Kernel),
		qemu.WithInitrd(s.Files.Initrd),
		qemu.WithConsoleLog(s.Files.Console),
		qemu.VirtioSerialPort("ctl", s.Files.Control))
	if s.Accel != "" {
		fns = append(fns, qemu.WithAccel(s.Accel))
	}
	if s.Binary != "" {
		fns = append(fns, qemu.WithBinary(s.Binary))
	}
	if s.Machine != "" {
		fns = append(fns, qemu.WithMachine(s.Machine))
	}
	fns = append(fns, s.Devices...)
	if len(s.Args) > 0 {
		fns = append(fns, qemu.WithArgs(s.Args...))
	}
	return fns
}

// Command is the session's QEMU command line. It looks at no file, so a plan can show it
// before the files exist; Start runs exactly it.
func (s *Session) Command() ([]string, error) {
	return qemu.BuildUnchecked(s.Options()...)
}

// WriteInitramfs builds (or finds in the cache) the base archive and writes Files.Initrd: the
// base followed by the job. It returns the base archive's path and the modules packed, in
// load order. A session without an agent keeps the Files.Initrd it was given.
func (s *Session) WriteInitramfs(ctx context.Context) (base string, mods []initramfs.Module, err error) {
	if s.Image.Base.Agent == "" {
		return "", nil, nil
	}
	base, mods, err = initramfs.BuildBase(ctx, s.Image.Cache, s.Image.Base)
	if err != nil {
		return "", nil, err
	}
	job, err := json.Marshal(s.Image.Job)
	if err != nil {
		return "", nil, err
	}
	return base, mods, initramfs.WriteCellInitrd(s.Files.Initrd, base, job)
}

// Logs are where a started guest's output goes. Any of them may be nil.
type Logs struct {
	// QEMU receives QEMU's own stdout and stderr; when it is an *os.File, its last lines are
	// quoted in the error of a QEMU that exited.
	QEMU io.Writer
	// Events receives every event line as the agent sent it.
	Events io.Writer
	// Stdout and Stderr receive the exec workload's output as it arrives.
	Stdout, Stderr io.Writer
	// Started is told the command line of every boot, before it starts.
	Started func(argv []string)
}

// acceptTimeout bounds how long QEMU may take to connect to the control socket: it does so at
// start-up, before the guest runs.
const acceptTimeout = 30 * time.Second

// Start boots the session: it checks the command's files, listens on the control socket,
// starts QEMU and accepts its connection. The agent's events are then read in the background
// (Next). The initramfs must have been written (WriteInitramfs). Each Start is one boot: a
// session may be started again once the previous guest has stopped.
func (s *Session) Start(ctx context.Context, logs Logs) (*Guest, error) {
	argv, err := s.Command()
	if err != nil {
		return nil, err
	}
	if _, err := qemu.Build(s.Options()...); err != nil { // the files are there now
		return nil, err
	}
	if logs.Started != nil {
		logs.Started(slices.Clone(argv))
	}
	ch, err := qemu.Listen(s.Files.Control)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	g := &Guest{events: make(chan Event, 64), console: s.Files.Console, start: time.Now()}
	if f, ok := logs.QEMU.(*os.File); ok {
		g.qemuLog = f.Name()
	}
	g.vm, err = qemu.Start(ctx, argv, orDiscard(logs.QEMU), orDiscard(logs.QEMU))
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	// QEMU connects at start-up, before the guest runs; a QEMU that fails on its command line
	// exits instead, so wait for whichever comes first.
	acceptCtx, cancel := context.WithTimeout(ctx, acceptTimeout)
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
		g.Stop()
		return nil, fmt.Errorf("qemu did not connect to the control socket: %w%s", err, g.ExitNote())
	}
	go g.read(conn, logs)
	return g, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// read decodes the control channel into g.events until it ends, then closes g.events.
func (g *Guest) read(conn io.ReadCloser, logs Logs) {
	defer close(g.events)
	defer conn.Close()
	dec := protocol.NewDecoder(io.TeeReader(conn, orDiscard(logs.Events)))
	for {
		ev, err := dec.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				g.events <- Event{At: time.Now(), Err: err}
			}
			return
		}
		if ev.Kind == protocol.EventOutput {
			w := logs.Stdout
			if ev.Stream == protocol.StreamStderr {
				w = logs.Stderr
			}
			if w != nil {
				io.WriteString(w, ev.Data)
			}
		}
		g.events <- Event{Event: ev, At: time.Now()}
	}
}
