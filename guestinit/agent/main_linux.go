// Command agent is the guest's /init: it loads the kernel modules a cell needs, runs the
// job's steps and workload, reports events to the host over the virtio-serial port "ctl" as
// JSON lines (see package protocol), and powers the VM off whatever happens.
//
// Run as any PID but 1 (on the host, for tests) it mounts nothing, loads no modules and never
// powers off: it reads the job from -job, writes events to -events, opens virtio-serial ports
// by name in the -ports directory, and exits 0 after "done" or 1 after "error".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

func main() {
	o := options{
		pid1:        os.Getpid() == 1,
		jobPath:     protocol.JobPath,
		modulesPath: protocol.ModulesListPath,
		modulesDir:  protocol.ModulesDir,
	}
	if !o.pid1 {
		fs := flag.NewFlagSet("agent", flag.ExitOnError)
		fs.StringVar(&o.jobPath, "job", o.jobPath, "job file")
		fs.StringVar(&o.modulesPath, "modules", o.modulesPath, "module list used when the job has none")
		events := fs.String("events", "-", "file the events are written to; - is stdout")
		fs.StringVar(&o.portDir, "ports", "", "directory holding the virtio-serial ports (files or FIFOs) by name")
		fs.Parse(os.Args[1:])
		o.events = os.Stdout
		if *events != "-" {
			f, err := os.Create(*events)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer f.Close()
			o.events = f
		}
		o.log = os.Stderr
	}
	code := execute(context.Background(), o)
	if o.pid1 {
		powerOff()
	}
	os.Exit(code)
}

// options say where the agent finds its inputs; the zero values of events and log mean the
// PID 1 defaults (the "ctl" port and the console).
type options struct {
	pid1        bool
	jobPath     string
	modulesPath string
	modulesDir  string
	portDir     string
	events      io.Writer
	log         io.Writer
}
