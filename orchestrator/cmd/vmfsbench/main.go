// Command vmfsbench measures how a host tree reaches a qemu-system guest: it expands a YAML
// spec into cells, builds images, starts helpers, boots a guest whose /init is vmfsbench's
// agent, runs the workload and writes results.
//
// Exit codes: 0 all cells ok, 1 some cell failed, 2 bad input or environment; exec and lit
// exit with their command's status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
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

// cmdInfo is one command of the table behind the top-level help and every command's usage.
type cmdInfo struct {
	name    string   // "run", or "kernel fetch" for a command with a subcommand
	forms   []string // its positional arguments, one synopsis each; the flags come from its flag set
	summary string   // one line
	run     command
}

type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// commands is dispatched on the first word of name.
var commands = []cmdInfo{
	{"validate", []string{"SPEC..."}, "check specs; print every error as file:line:col: field: message", cmdValidate},
	{"plan", []string{"SPEC"}, "print each cell and its steps with the exact host commands", cmdPlan},
	{"run", []string{"SPEC", "--resume DIR [SPEC]"}, "run the cells (or, with --resume, those of DIR without a result)", cmdRun},
	{"exec", []string{"SPEC -- COMMAND..."}, "run COMMAND in one guest of the spec, in the tree as a method of it carries it; exit with the command's status", cmdExec},
	{"lit", []string{"SPEC -- LIT-ARGUMENTS...", "SPEC --wrapper FILE"}, "run the tree's own llvm-lit in a guest of the spec with lit's arguments as LLVM's build passes them (-DLLVM_EXTERNAL_LIT)", cmdLit},
	{"slurm", []string{"SPEC -o DIR", "--resume DIR [SPEC]"}, "submit the cells as a Slurm job array of shards into one run directory, and its report as a dependent job", cmdSlurm},
	{"report", []string{"DIR"}, "regenerate summary.csv, summary.json, report.md and the charts from DIR's cells", cmdReport},
	{"compare", []string{"RUN REFERENCE.csv", "RUN RUN"}, "rank a run's methods beside a reference, with both sides' ratios to the baseline, or each group's change between two runs", cmdCompare},
	{"digest", []string{"SPEC"}, "walk the spec's tree after exclusions: files, bytes, digest", cmdDigest},
	{"kernel fetch", []string{""}, "download Debian's kernel for the guest architecture into the cache", cmdKernel},
	{"rootfs build", []string{""}, "debootstrap a Debian guest root (python3, LLVM 15) into a cached ext4 image", cmdRootfs},
	{"tool fetch", []string{"NAME..."}, "fetch a host tool Debian 12 lacks into the cache: virtiofsd (Debian 13's Rust daemon), e2fsprogs (bookworm-backports', reads tar)", cmdTool},
	{"tree llvm", []string{""}, "lay out a real LLVM tree in the cache: Debian's source of a release and its tools in build/stage2cross", cmdTree},
}

// lookup finds the command whose name starts with the word w.
func lookup(w string) (cmdInfo, bool) {
	for _, c := range commands {
		if first, _, _ := strings.Cut(c.name, " "); first == w {
			return c, true
		}
	}
	return cmdInfo{}, false
}

// lookupHelp finds the command `help WORDS` asks about: its whole name ("kernel fetch"), or
// its first word alone ("kernel").
func lookupHelp(words []string) (cmdInfo, bool) {
	for _, c := range commands {
		if c.name == strings.Join(words, " ") {
			return c, true
		}
	}
	if len(words) == 1 {
		return lookup(words[0])
	}
	return cmdInfo{}, false
}

// topUsage is the top-level help: every command with its one line.
func topUsage() string {
	var b strings.Builder
	b.WriteString("usage: vmfsbench <command> [arguments] [flags]\n       vmfsbench help <command>    the command's usage and flags\n\ncommands:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	b.WriteString("\nexit codes: 0 all cells ok, 1 some cell failed, 2 bad input or environment;\n            exec and lit: the command's status, 2 for vmfsbench's own errors (see the README)\n")
	return b.String()
}

// cmdUsage is c's usage: its synopses, its summary and its flags, from the flag set fs.
func cmdUsage(c cmdInfo, fs *flag.FlagSet) string {
	var b strings.Builder
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	for i, form := range c.forms {
		line := strings.Join(strings.Fields("vmfsbench "+c.name+" "+form), " ")
		if before, after, ok := strings.Cut(line, " -- "); ok && hasFlags {
			line = before + " [flags] -- " + after // flags end where the command begins
		} else if hasFlags {
			line += " [flags]"
		}
		if i == 0 {
			fmt.Fprintf(&b, "usage: %s\n", line)
		} else {
			fmt.Fprintf(&b, "       %s\n", line)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", c.summary)
	if !hasFlags {
		return b.String()
	}
	b.WriteString("\nflags:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-"
		}
		left := dashes + f.Name
		if arg != "" {
			left += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			help += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", left, help)
	})
	tw.Flush()
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	os.Exit(vmfsbench(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func vmfsbench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage())
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 {
			if c, ok := lookupHelp(args[1:]); ok {
				fmt.Fprint(stdout, cmdUsage(c, flagSet(c)))
				return exitOK
			}
			fmt.Fprintf(stderr, "vmfsbench: unknown command %q\n\n%s", strings.Join(args[1:], " "), topUsage())
			return exitUsage
		}
		fmt.Fprint(stdout, topUsage())
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "vmfsbench: unknown command %q\n\n%s", args[0], topUsage())
		return exitUsage
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	var help helpRequested
	var bad badArgsError
	var status exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &status):
		return int(status)
	case errors.As(err, &help):
		fmt.Fprint(stdout, cmdUsage(c, help.fs))
		return exitOK
	case errors.As(err, &bad):
		if bad.err != nil {
			fmt.Fprintf(stderr, "vmfsbench %s: %v\n", c.name, bad.err)
		}
		fmt.Fprint(stderr, cmdUsage(c, bad.fs))
		return exitUsage
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
