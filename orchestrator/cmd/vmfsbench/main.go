// Command vmfsbench measures how a host tree reaches a qemu-system guest: it expands a YAML
// spec into cells, builds images, starts helpers, boots a guest whose /init is vmfsbench's
// agent, runs the workload and writes results.
//
// Exit codes: 0 all cells ok, 1 some cell failed, 2 bad input or environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as documented in the README.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks bad input or environment: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// cellsFailed is returned when the run finished but some cell did not: exit code 1.
var errCellsFailed = errors.New("some cells failed")

const usage = `usage: vmfsbench <command> [arguments]

commands:
  validate SPEC...             check specs; print every error as file:line:col: field: message
  plan SPEC [--json]           print each cell and its steps with the exact host commands
  run SPEC [-o DIR] [--only GLOB] [--fail-fast]
                               run the cells; results go to DIR (default results/runs/<name>/<time>)
  report DIR [--reference CSV] regenerate summary.csv, summary.json, report.md and chart.svg
                               from DIR/cells/*.json and DIR/run.json
  compare RUN REFERENCE.csv    each method's ratio to the fastest and its rank, next to the reference
  compare RUN RUN              each group's change in median total and whether it is beyond noise
  digest SPEC                  walk the spec's tree after exclusions: files, bytes, digest
  kernel fetch [--arch ARCH]   download Debian's kernel for ARCH (x86_64, aarch64) into the cache
  rootfs build [--arch ARCH] [--packages P,...]
                               debootstrap a Debian guest root (python3, LLVM 15) into a cached ext4 image

exit codes: 0 all cells ok, 1 some cell failed, 2 bad input or environment
`

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"validate": cmdValidate,
	"plan":     cmdPlan,
	"digest":   cmdDigest,
	"run":      cmdRun,
	"kernel":   cmdKernel,
	"report":   cmdReport,
	"compare":  cmdCompare,
	"rootfs":   cmdRootfs,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(vmfsbench(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func vmfsbench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "vmfsbench: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errReported):
		return exitUsage
	case errors.Is(err, errCellsFailed):
		fmt.Fprintf(stderr, "vmfsbench %s: %v\n", args[0], err)
		return exitFailed
	default:
		fmt.Fprintf(stderr, "vmfsbench %s: %v\n", args[0], err)
		return exitUsage
	}
}
