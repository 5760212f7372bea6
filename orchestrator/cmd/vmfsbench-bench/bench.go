package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// The exclusions and owner of every figure: the seed study's.
var (
	excludeRules = []string{".git", "build/*", "!build/stage2cross"}
	benchOwner   = tree.Owner{UID: 1001, GID: 1001}
)

// bench is what the figures share: the tree, its filtered copy and the scratch directory.
type bench struct {
	o       options
	root    string // the synthetic tree
	scratch string
	copy    string // the filtered tree, copied, owned by benchOwner: the raw tools' input
	m       *tree.Matcher
	hidden  []string     // top-most excluded paths
	sum     tree.Summary // digest of the filtered tree
	size    method.TreeSize
	machine machine
	logf    func(string, ...any)
	self    string // this program, for child processes
}

func newBench(ctx context.Context, root, scratch string, o options, logf func(string, ...any)) (*bench, error) {
	b := &bench{o: o, root: root, scratch: scratch, logf: logf}
	var err error
	if b.self, err = os.Executable(); err != nil {
		return nil, err
	}
	b.machine = describeMachine(ctx)
	if b.m, err = tree.NewMatcher(excludeRules); err != nil {
		return nil, err
	}
	if b.hidden, err = tree.ExcludedRoots(ctx, root, b.m); err != nil {
		return nil, err
	}
	if b.sum, err = tree.DigestTree(ctx, root, b.m); err != nil {
		return nil, err
	}
	if b.size, err = method.MeasureTree(ctx, root, b.m); err != nil {
		return nil, err
	}
	logf("filtered tree: %d files, %d symlinks, %d directories, %.1f MiB (excluded: %s)",
		b.sum.Files, b.sum.Symlinks, b.size.Dirs, float64(b.sum.Bytes)/(1<<20), strings.Join(b.hidden, ", "))
	b.copy = filepath.Join(scratch, "filtered")
	if err := makeFilteredCopy(ctx, root, b.copy, b.hidden, benchOwner); err != nil {
		return nil, err
	}
	got, err := tree.DigestTree(ctx, b.copy, nil)
	if err != nil {
		return nil, err
	}
	if got != b.sum {
		return nil, fmt.Errorf("the filtered copy %s has digest %s (%d files), the filtered tree %s (%d files)",
			b.copy, got.Digest, got.Files, b.sum.Digest, b.sum.Files)
	}
	unix.Sync()
	return b, nil
}

func (b *bench) close() {}

// makeFilteredCopy copies root to dst with cp -a, removes the excluded paths and, as root,
// gives every entry owner: what someone would prepare by hand for the raw tools. It is not
// timed.
func makeFilteredCopy(ctx context.Context, root, dst string, hidden []string, owner tree.Owner) error {
	if err := runQuiet(ctx, "cp", "-a", root, dst); err != nil {
		return err
	}
	for _, h := range hidden {
		if err := os.RemoveAll(filepath.Join(dst, filepath.FromSlash(h))); err != nil {
			return err
		}
	}
	if os.Geteuid() != 0 {
		return nil // the raw tools' images keep the tree's owners: it costs them nothing
	}
	return runQuiet(ctx, "chown", "-R", "-h", fmt.Sprintf("%d:%d", owner.UID, owner.GID), dst)
}

// runQuiet runs a command, returning its output in the error when it fails.
func runQuiet(ctx context.Context, argv ...string) error {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// warm reads every file of the trees so that the next measurement starts with a warm page
// cache: other processes on the machine may drop it at any time.
func warm(ctx context.Context, roots ...string) error {
	for _, r := range roots {
		if _, err := tree.WriteTar(ctx, io.Discard, r, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// sample is one timed run.
type sample struct {
	wall, cpu float64 // seconds
}

// stdoutMode is where a timed command's standard output goes.
type stdoutMode int

const (
	toDevNull stdoutMode = iota // /dev/null, which GNU tar recognises and then reads no file
	toPipe                      // a pipe into cat > /dev/null, as a consumer would read it
)

// timeCommand runs argv, with extra environment env, and returns its wall time (until the
// consumer, in toPipe mode, has read everything) and the CPU time (user + system) of the
// process and its reaped children, the consumer's not included.
func timeCommand(ctx context.Context, argv, env []string, mode stdoutMode) (sample, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return sample{}, err
	}
	defer null.Close()
	cmd.Stdout = null
	var cat *exec.Cmd
	if mode == toPipe {
		r, w, err := os.Pipe()
		if err != nil {
			return sample{}, err
		}
		cat = exec.CommandContext(ctx, "cat")
		cat.Stdin, cat.Stdout, cmd.Stdout = r, null, w
		if err := cat.Start(); err != nil {
			r.Close()
			w.Close()
			return sample{}, err
		}
		r.Close()
	}
	var s sample
	t0 := time.Now()
	err = cmd.Start()
	if f, ok := cmd.Stdout.(*os.File); ok && f != null {
		f.Close() // the child has it; cat must see the end when the child exits
	}
	if err == nil {
		err = cmd.Wait()
	}
	if cat != nil {
		if cerr := cat.Wait(); err == nil && cerr != nil {
			err = fmt.Errorf("cat: %w", cerr)
		}
	}
	s.wall = time.Since(t0).Seconds()
	if err != nil {
		return s, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, lastLines(stderr.String(), 5))
	}
	s.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return s, nil
}

// timeFunc runs fn and returns its wall time and the CPU time this process and the children
// it reaped meanwhile used: an in-process job and the tools it runs.
func timeFunc(fn func() error) (sample, error) {
	var self0, kids0, self1, kids1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &self0)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids0)
	t0 := time.Now()
	err := fn()
	s := sample{wall: time.Since(t0).Seconds()}
	unix.Getrusage(unix.RUSAGE_SELF, &self1)
	unix.Getrusage(unix.RUSAGE_CHILDREN, &kids1)
	s.cpu = cpuSeconds(&self1) - cpuSeconds(&self0) + cpuSeconds(&kids1) - cpuSeconds(&kids0)
	return s, err
}

func cpuSeconds(r *unix.Rusage) float64 {
	return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// childCommand is the argv and environment that run this program as a child in mode.
func (b *bench) childCommand(mode string, args ...string) ([]string, []string) {
	return append([]string{b.self}, args...), []string{childEnv + "=" + mode}
}

// pair measures ours and ref runs times each, alternating which goes first, with the trees
// warmed before each, and returns the samples.
func (b *bench) pair(ctx context.Context, runs int, ours, ref func() (sample, error), warmRoots ...string) (o, r []sample, err error) {
	for i := range runs {
		fns := []func() (sample, error){ours, ref}
		dst := []*[]sample{&o, &r}
		if i%2 == 1 {
			fns[0], fns[1] = fns[1], fns[0]
			dst[0], dst[1] = dst[1], dst[0]
		}
		for j, fn := range fns {
			if err := warm(ctx, warmRoots...); err != nil {
				return nil, nil, err
			}
			s, err := fn()
			if err != nil {
				return nil, nil, err
			}
			*dst[j] = append(*dst[j], s)
		}
	}
	return o, r, nil
}

// stats are the figures of a series of samples: the best wall time (other processes on the
// machine only ever add time, so the best run is the least disturbed), the median wall
// time, and the median CPU time.
type stats struct{ best, median, cpu float64 }

func statsOf(ss []sample) stats {
	w, c := make([]float64, len(ss)), make([]float64, len(ss))
	for i, s := range ss {
		w[i], c[i] = s.wall, s.cpu
	}
	return stats{best: slices.Min(w), median: median(w), cpu: median(c)}
}

// String is "best (median M, cpu C)".
func (s stats) String() string {
	return fmt.Sprintf("%s (median %s, cpu %s)", secs(s.best), secs(s.median), secs(s.cpu))
}

func itoa(n int) string { return strconv.Itoa(n) }
