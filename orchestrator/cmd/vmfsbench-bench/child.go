package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// childEnv, set to a mode, makes this program a child that does one measured job and exits:
// its CPU time and peak memory are then the job's alone.
const childEnv = "VMFSBENCH_BENCH_CHILD"

// Child modes.
const (
	childTar    = "tar"    // tree.WriteTar of ROOT (seed exclusions, owner 1001:1001) to stdout
	childPasses = "passes" // every host-side pass of a run over ROOT; a passesResult on stdout
)

// passesResult is what a passes child reports.
type passesResult struct {
	Entries int64              `json:"entries"` // files, directories and symlinks walked
	Seconds map[string]float64 `json:"seconds"` // per pass
	HWMKiB  int64              `json:"hwm_kib"` // peak resident memory (VmHWM)
}

// child runs one child mode; it returns the exit status.
func child(mode string, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "child %s: want one argument, the tree, not %q\n", mode, args)
		return 2
	}
	ctx := context.Background()
	root := args[0]
	m, err := tree.NewMatcher(excludeRules)
	if err == nil {
		switch mode {
		case childTar:
			_, err = tree.WriteTar(ctx, stdout, root, m, &benchOwner)
		case childPasses:
			var res passesResult
			if res, err = passes(ctx, root, m); err == nil {
				err = json.NewEncoder(stdout).Encode(res)
			}
		default:
			err = fmt.Errorf("unknown child mode %q", mode)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "child %s: %v\n", mode, err)
		return 1
	}
	return 0
}

// passes does, one after the other, what `vmfsbench run` does over the host tree: find the
// excluded roots, measure the tree, digest it (read-all specs) and stream it as tar (stream
// methods), and reports the peak memory of the whole.
func passes(ctx context.Context, root string, m *tree.Matcher) (passesResult, error) {
	res := passesResult{Seconds: map[string]float64{}}
	timed := func(name string, fn func() error) error {
		t0 := time.Now()
		err := fn()
		res.Seconds[name] = time.Since(t0).Seconds()
		return err
	}
	err := timed("excluded-roots", func() error { _, err := tree.ExcludedRoots(ctx, root, m); return err })
	if err == nil {
		err = timed("measure", func() error {
			ts, err := method.MeasureTree(ctx, root, m)
			res.Entries = ts.Files + ts.Dirs - 1 + ts.Symlinks
			return err
		})
	}
	if err == nil {
		err = timed("digest", func() error { _, err := tree.DigestTree(ctx, root, m); return err })
	}
	if err == nil {
		err = timed("tar", func() error { _, err := tree.WriteTar(ctx, io.Discard, root, m, &benchOwner); return err })
	}
	if err != nil {
		return res, err
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return res, err
	}
	res.HWMKiB, err = parseHWM(string(status))
	return res, err
}

// parseHWM reads VmHWM, in KiB, from the text of /proc/PID/status.
func parseHWM(status string) (int64, error) {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmHWM line %q", l)
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM line in /proc/PID/status")
}
