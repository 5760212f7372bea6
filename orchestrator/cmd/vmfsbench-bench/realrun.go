package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/results"
)

// Overhead goals: a cell's wall time minus its phases must be under 1 % of the cell or under
// half a second.
const (
	overheadFraction = 0.01
	overheadAbsolute = 0.5
)

// runFigures runs the bench spec with the vmfsbench binary and reads its cells: the
// orchestrator's overhead per cell and per run, the transfer throughput of the stream
// methods against tar | tar on the host, and the orchestrator's peak memory during the run.
func (b *bench) runFigures(ctx context.Context) ([]figure, error) {
	bin, err := filepath.Abs(b.o.vmfsbench)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (make build makes it)", err)
	}
	file := filepath.Join(b.scratch, "run.yaml")
	if err := os.WriteFile(file, []byte(benchSpec(b.o)), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(b.scratch, "run")
	logPath := filepath.Join(b.scratch, "run.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	if err := warm(ctx, b.root); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "run", "-o", out, file)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	hwm := pollHWM(cmd.Process.Pid)
	err = cmd.Wait()
	processWall := time.Since(t0).Seconds()
	peak := <-hwm
	if err != nil {
		return nil, fmt.Errorf("vmfsbench run: %w (see %s)", err, logPath)
	}
	cells, err := readCells(out)
	if err != nil {
		return nil, err
	}
	figs := overheadFigures(cells, processWall)
	figs = append(figs, figure{
		name: "orchestrator peak memory during the run",
		ours: mib(peak),
		note: "VmHWM of the vmfsbench run process (QEMU, ssh and the image tools are other processes), polled every 50 ms.",
	})
	ref, err := results.ReadReference(b.o.reference)
	if err != nil {
		return nil, fmt.Errorf("%w (-reference names the published figures the notes compare with)", err)
	}
	if f, ok := buildShareFigure(cells, ref); ok {
		figs = append(figs, f)
	}
	host, err := b.hostTarTar(ctx)
	if err != nil {
		return nil, err
	}
	return append(figs, transferFigures(cells, b.sum.Bytes, host)...), nil
}

// readCells reads every cell result of a run directory, in ID order.
func readCells(dir string) ([]*results.Cell, error) {
	files, err := filepath.Glob(filepath.Join(dir, "cells", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var cells []*results.Cell
	for _, f := range files {
		c, err := results.ReadCell(f)
		if err != nil {
			return nil, err
		}
		if c.Status != results.StatusOK {
			return nil, fmt.Errorf("cell %s failed: %s (see %s)", c.ID, c.Error, dir)
		}
		cells = append(cells, c)
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("no cell results in %s", dir)
	}
	return cells, nil
}

// cellOverhead is a cell's wall time not covered by its measured phases.
func cellOverhead(c *results.Cell) float64 {
	sum := 0.0
	for _, v := range c.Phases {
		sum += v
	}
	return c.Wall - sum
}

// overheadFigures: the worst cell's wall time minus its phases, and the process's wall time
// minus its cells' (start-up, tree checks, reports), per cell.
func overheadFigures(cells []*results.Cell, processWall float64) []figure {
	var worst *results.Cell
	walls := 0.0
	for _, c := range cells {
		walls += c.Wall
		if worst == nil || cellOverhead(c)/c.Wall > cellOverhead(worst)/worst.Wall {
			worst = c
		}
	}
	ov := cellOverhead(worst)
	frac := ov / worst.Wall
	ids := make([]string, len(cells))
	for i, c := range cells {
		ids[i] = fmt.Sprintf("%s %s", c.ID, secsSigned(cellOverhead(c)))
	}
	perCell := figure{
		name:  "orchestrator overhead per cell: wall - phases (worst cell)",
		ours:  fmt.Sprintf("%s (%s)", secsSigned(ov), worst.ID),
		ref:   "cell wall " + secs(worst.Wall),
		ratio: fmt.Sprintf("%.3f %%", frac*100), goal: goalOverhead,
		met:  verdictOf(frac < overheadFraction || ov < overheadAbsolute),
		note: "every cell: " + strings.Join(ids, ", ") + ".",
	}
	runOv := (processWall - walls) / float64(len(cells))
	perRun := figure{
		name:  "orchestrator overhead per cell: process wall - cell walls",
		ours:  fmt.Sprintf("%s per cell (%s over %d cells)", secs(runOv), secs(processWall-walls), len(cells)),
		ref:   fmt.Sprintf("process wall %s", secs(processWall)),
		ratio: fmt.Sprintf("%.2f %%", (processWall-walls)/processWall*100), goal: goalOverhead,
		met: verdictOf((processWall-walls)/processWall < overheadFraction || runOv < overheadAbsolute),
		note: "the vmfsbench run process from exec to exit, outside its cells: start-up, the tree's checks " +
			"(excluded roots, size), the agent and accelerator checks, run.json, summaries, report and chart.",
	}
	return []figure{perCell, perRun}
}

func secsSigned(s float64) string {
	if s < 0 {
		return "-" + secs(-s)
	}
	return secs(s)
}

// pollHWM samples VmHWM of a process until it exits and then sends the last value (KiB).
func pollHWM(pid int) <-chan int64 {
	ch := make(chan int64, 1)
	go func() {
		var last int64
		path := "/proc/" + strconv.Itoa(pid) + "/status"
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				break
			}
			v, err := parseHWM(string(b))
			if err != nil { // a zombie has no memory lines
				break
			}
			last = v
			time.Sleep(50 * time.Millisecond)
		}
		ch <- last
	}()
	return ch
}

// hostTarTar times tar -c of the filtered copy piped into tar -x on tmpfs: the host-side
// limit of a tar transfer into a guest's tmpfs.
func (b *bench) hostTarTar(ctx context.Context) (float64, error) {
	base, err := flatBase()
	if err != nil {
		base = b.scratch
	}
	var ws []float64
	for range b.o.runs {
		dst, err := os.MkdirTemp(base, "vmfsbench-bench-tartar.")
		if err != nil {
			return 0, err
		}
		if err := warm(ctx, b.copy); err != nil {
			return 0, err
		}
		script := `tar -c -C "$1" . | tar -x -C "$2"`
		s, err := timeCommand(ctx, []string{"sh", "-c", script, "sh", b.copy, dst}, nil, toDevNull)
		removeAll(dst)
		if err != nil {
			return 0, err
		}
		ws = append(ws, s.wall)
	}
	return median(ws), nil
}

// transferFigures compares the transfer phase of ssh-tar and serial-tar with the host's
// tar | tar and with each other.
func transferFigures(cells []*results.Cell, bytes int64, host float64) []figure {
	phase := map[string]float64{}
	for _, c := range cells {
		if t, ok := c.Phases[results.PhaseTransfer]; ok && t > 0 {
			phase[c.Method] = t
		}
	}
	var figs []figure
	for _, m := range slices.Sorted(maps.Keys(phase)) {
		t := phase[m]
		figs = append(figs, figure{
			name:  m + " transfer into the guest vs `tar | tar` on the host",
			ours:  fmt.Sprintf("%s, %s", secs(t), mbps(bytes, t)),
			ref:   fmt.Sprintf("%s, %s", secs(host), mbps(bytes, host)),
			ratio: ratio(host / t),
		})
	}
	if ssh, ok := phase["ssh-tar"]; ok {
		if serial, ok := phase["serial-tar"]; ok {
			figs = append(figs, figure{
				name:  "ssh-tar vs serial-tar transfer",
				ours:  mbps(bytes, ssh),
				ref:   mbps(bytes, serial) + " (serial-tar)",
				ratio: ratio(serial / ssh),
				note: "throughput ratios (higher is faster). The guest runs under TCG: decrypting (ssh) and extracting " +
					"(tar into tmpfs) are emulated instructions, so both streams are bound by the guest's CPU, far below what " +
					"the host's tar | tar moves.",
			})
		}
	}
	return figs
}

// buildShareFigure: how much of each image cell's wall time its build takes, which is what
// reusing a content-addressed image across repetitions would save from the second on. The
// note puts it next to the same share in ref, the published figures, when ref gives any.
func buildShareFigure(cells []*results.Cell, ref *results.Reference) (figure, bool) {
	var parts []string
	for _, c := range cells {
		if t, ok := c.Phases[results.PhaseBuild]; ok && t > 0 {
			parts = append(parts, fmt.Sprintf("%s %s of %s (%.0f %%)", c.Method, secs(t), secs(c.Wall), t/c.Wall*100))
		}
	}
	if len(parts) == 0 {
		return figure{}, false
	}
	note := "the build phase against the cell's wall time in the real run. Every cell builds its image afresh " +
		"(vmfsbench has no option to reuse an image across cells or repetitions), so this is the most that reusing a " +
		"content-addressed image could save per repetition after the first, on this tree."
	if s := referenceBuildShare(ref); s != "" {
		note += " " + s
	}
	return figure{name: "image build share of a cell (what reusing images would save)", ours: strings.Join(parts, "; "), note: note}, true
}

// referenceBuildShare says, from the rows of ref that give both a build and a total, how long
// the builds took of how long a cell, per method, and what share that is; "" when no row does.
func referenceBuildShare(ref *results.Reference) string {
	if ref == nil {
		return ""
	}
	var methods []string
	builds, totals := map[string]*span{}, map[string]*span{}
	var share span
	for _, row := range ref.Rows {
		if row.Build == nil || row.Total == nil || *row.Total <= 0 {
			continue
		}
		if builds[row.Method] == nil {
			methods = append(methods, row.Method)
			builds[row.Method], totals[row.Method] = &span{}, &span{}
		}
		builds[row.Method].add(*row.Build)
		totals[row.Method].add(*row.Total)
		share.add(*row.Build / *row.Total * 100)
	}
	if len(methods) == 0 {
		return ""
	}
	var per []string
	for _, m := range methods {
		per = append(per, fmt.Sprintf("%s s of %s cells of %s s", builds[m].format("%g"), m, totals[m].format("%g")))
	}
	format := "%.0f"
	if share.lo < 1 {
		format = "%.1f"
	}
	return fmt.Sprintf("In the seed study's LLVM tree (%s) the builds took %s: %s %%.", ref.Path, prose(per), share.format(format))
}

// span is the range of the numbers added to it.
type span struct {
	lo, hi float64
	n      int
}

func (s *span) add(x float64) {
	if s.n == 0 || x < s.lo {
		s.lo = x
	}
	if s.n == 0 || x > s.hi {
		s.hi = x
	}
	s.n++
}

// format writes the span as "lo-hi", or as one number when both ends print the same.
func (s *span) format(verb string) string {
	lo, hi := fmt.Sprintf(verb, s.lo), fmt.Sprintf(verb, s.hi)
	if lo == hi {
		return lo
	}
	return lo + "-" + hi
}

// prose joins items as "a", "a and b", "a, b and c".
func prose(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
