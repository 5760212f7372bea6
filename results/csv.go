package results

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSV layout. A cell row flattens the cell JSON: parameters as param_<name>, phases as
// phase_<name>_s (dashes become underscores), seconds in columns ending _s, then the run's
// metadata (run.json) repeated on every row. summary.csv adds a first column kind ("cell" or
// "group") and, for group rows, one row per metric (total, wall, phase_<name>) with the
// statistics columns.
var (
	csvHead  = []string{"id", "group", "method"}
	csvMid   = []string{"cache", "repetition", "status", "error", "total_s", "wall_s"}
	csvTail  = []string{"guest_modules_s", "guest_workload_s", "guest_verify_s", "guest_files", "guest_symlinks", "guest_bytes", "guest_entries", "exit_code", "digest", "digest_match", "cached_before_kib", "cached_after_kib", "tree_kib", "qemu_rss_kib", "qemu_peak_kib", "qemu_file_kib", "guest_page_cache_kib", "guest_page_faults", "guest_major_faults", "guest_dax_pmd_faults", "guest_dax_pmd_fallbacks", "guest_dax_pte_faults", "cpu_user_s", "cpu_system_s", "cpu_qemu_s", "cpu_build_s", "accel", "warnings", "start", "end"}
	csvStats = []string{"metric", "cells", "failed", "n", "min_s", "median_s", "mean_s", "max_s", "stddev_s", "cv", "ci_low_s", "ci_high_s", "ci_coverage", "mad_s", "outliers_s", "group_warnings"}
	csvMeta  = []string{"spec", "spec_sha256", "host_cpu", "host_cores", "host_memory_bytes", "host_kernel", "accel_reason", "guest_arch", "guest_kernel", "vmfsbench_version", "vmfsbench_commit", "run_start", "run_end"}
)

type row map[string]string

// phaseColumn is the CSV column of a phase: prepare-cache is phase_prepare_cache_s.
func phaseColumn(p Phase) string { return "phase_" + strings.ReplaceAll(string(p), "-", "_") + "_s" }

func paramColumn(k string) string { return "param_" + k }

func cellRow(c *Cell) row {
	r := row{"id": c.ID, "group": c.Group, "method": c.Method, "cache": c.Cache,
		"repetition": strconv.Itoa(c.Repetition), "status": c.Status, "error": c.Error,
		"total_s": formatFloat(c.Total), "wall_s": formatFloat(c.Wall),
		"guest_modules_s": formatFloat(c.Guest.ModulesSeconds), "guest_workload_s": formatFloat(c.Guest.WorkloadSeconds),
		"guest_files": itoa(c.Guest.Files), "guest_symlinks": itoa(c.Guest.Symlinks), "guest_bytes": itoa(c.Guest.Bytes),
		"guest_entries": itoa(c.Guest.Entries), "digest": c.Digest, "accel": c.Accel,
		"warnings": strings.Join(c.Warnings, "; "), "start": formatTime(c.Start), "end": formatTime(c.End)}
	if c.Guest.VerifySeconds > 0 {
		r["guest_verify_s"] = formatFloat(c.Guest.VerifySeconds)
	}
	if c.Guest.PageFaults > 0 {
		r["guest_page_faults"], r["guest_major_faults"] = itoa(c.Guest.PageFaults), itoa(c.Guest.MajorFaults)
	}
	if d := c.Guest.DAX; d != nil {
		r["guest_dax_pmd_faults"], r["guest_dax_pmd_fallbacks"], r["guest_dax_pte_faults"] = itoa(d.PMD), itoa(d.PMDFallback), itoa(d.PTE)
	}
	if m := c.Memory; m != nil {
		r["qemu_rss_kib"], r["qemu_peak_kib"], r["qemu_file_kib"] = itoa(m.QEMURSSKiB), itoa(m.QEMUPeakKiB), itoa(m.QEMUFileKiB)
		r["guest_page_cache_kib"] = itoa(m.GuestPageCacheKiB)
	}
	if u := c.CPU; u != nil {
		r["cpu_user_s"], r["cpu_system_s"] = formatFloat(u.UserSeconds), formatFloat(u.SystemSeconds)
		r["cpu_qemu_s"], r["cpu_build_s"] = formatFloat(u.QEMUSeconds), formatFloat(u.BuildSeconds)
	}
	for k, v := range c.Params {
		r[paramColumn(k)] = formatParam(v)
	}
	for p, v := range c.Phases { // a phase the cell did not go through stays empty
		r[phaseColumn(p)] = formatFloat(v)
	}
	if c.ExitCode != nil {
		r["exit_code"] = strconv.Itoa(*c.ExitCode)
	}
	if c.DigestOK != nil {
		r["digest_match"] = strconv.FormatBool(*c.DigestOK)
	}
	if cc := c.CacheCheck; cc != nil {
		r["cached_before_kib"], r["cached_after_kib"], r["tree_kib"] = itoa(cc.CachedBeforeKiB), itoa(cc.CachedAfterKiB), itoa(cc.TreeKiB)
	}
	return r
}

func metaRow(m *Meta, r row) {
	if m == nil {
		return
	}
	r["spec"], r["spec_sha256"] = m.Spec, m.SpecSHA256
	r["host_cpu"], r["host_cores"], r["host_memory_bytes"], r["host_kernel"] = m.Host.CPU, strconv.Itoa(m.Host.Cores), itoa(m.Host.MemoryBytes), m.Host.Kernel
	for name, v := range m.Tools {
		r[toolColumn(name)] = v
	}
	r["accel_reason"], r["guest_arch"], r["guest_kernel"] = m.AccelReason, m.GuestArch, m.GuestKernel
	r["vmfsbench_version"], r["vmfsbench_commit"] = m.Version, m.Commit
	r["run_start"], r["run_end"] = formatTime(m.Start), formatTime(m.End)
}

// hostRow puts what the cell's own node was in place of the run's host columns: the shards of
// a run may run on different nodes.
func hostRow(h *CellHost, r row) {
	if h == nil {
		return
	}
	r["host_cpu"], r["host_kernel"] = h.CPU, h.Kernel
	if h.QEMU != "" {
		r[toolColumn("qemu")] = h.QEMU
	}
	for name, v := range h.Tools {
		r[toolColumn(name)] = v
	}
}

func statsRows(g *Group) []row {
	base := row{"kind": "group", "group": g.Group, "method": g.Method, "cache": g.Cache}
	for k, v := range g.Params {
		base[paramColumn(k)] = formatParam(v)
	}
	type metric struct {
		name string
		st   Stats
	}
	ms := []metric{{"total", g.Total}, {"wall", g.Wall}}
	for _, p := range PhaseNames {
		if st, ok := g.Phases[p]; ok {
			ms = append(ms, metric{strings.TrimSuffix(phaseColumn(p), "_s"), st})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(g.Phases)) {
		if !slices.Contains(PhaseNames, p) {
			ms = append(ms, metric{strings.TrimSuffix(phaseColumn(p), "_s"), g.Phases[p]})
		}
	}
	var rows []row
	for _, m := range ms {
		r := maps.Clone(base)
		st := m.st
		r["metric"], r["cells"], r["failed"], r["n"] = m.name, strconv.Itoa(g.Cells), strconv.Itoa(g.Failed), strconv.Itoa(st.N)
		if st.N > 0 {
			r["min_s"], r["median_s"], r["mean_s"], r["max_s"] = formatFloat(st.Min), formatFloat(st.Median), formatFloat(st.Mean), formatFloat(st.Max)
			r["stddev_s"], r["cv"], r["mad_s"] = formatFloat(st.StdDev), formatFloat(st.CV), formatFloat(st.MAD)
			r["ci_low_s"], r["ci_high_s"], r["ci_coverage"] = formatFloat(st.CILow), formatFloat(st.CIHigh), formatFloat(st.CICoverage)
			var out []string
			for _, o := range st.Outliers {
				out = append(out, formatFloat(o))
			}
			r["outliers_s"] = strings.Join(out, " ")
		}
		if m.name == "total" {
			r["group_warnings"] = strings.Join(g.Warnings, "; ")
		}
		rows = append(rows, r)
	}
	return rows
}

// columns is the CSV header for cells with these parameters and phases.
func columns(cells []*Cell, summary bool, m *Meta) []string {
	params, phases := map[string]bool{}, map[Phase]bool{}
	for _, c := range cells {
		for k := range c.Params {
			params[k] = true
		}
		for p := range c.Phases {
			if !slices.Contains(PhaseNames, p) {
				phases[p] = true
			}
		}
	}
	var cols []string
	if summary {
		cols = append(cols, "kind")
	}
	cols = append(cols, csvHead...)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		cols = append(cols, paramColumn(k))
	}
	cols = append(cols, csvMid...)
	for _, p := range PhaseNames {
		cols = append(cols, phaseColumn(p))
	}
	for _, p := range slices.Sorted(maps.Keys(phases)) {
		cols = append(cols, phaseColumn(p))
	}
	cols = append(cols, csvTail...)
	if summary {
		cols = append(cols, csvStats...)
	}
	cols = append(cols, csvMeta...)
	if m != nil {
		for _, name := range slices.Sorted(maps.Keys(m.Tools)) {
			cols = append(cols, toolColumn(name))
		}
	}
	return cols
}

// toolColumn is the column of a host tool's version: qemu_version, e2fsprogs_version, ...
func toolColumn(name string) string {
	return strings.NewReplacer("-", "_", " ", "_", "/", "_").Replace(name) + "_version"
}

func encodeCSV(cols []string, rows []row) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(cols); err != nil {
		return nil, err
	}
	rec := make([]string, len(cols))
	for _, r := range rows {
		for i, c := range cols {
			rec[i] = r[c]
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// CellCSV returns the CSV of one cell: a header and one row, the run metadata m (may be nil)
// in the last columns.
func CellCSV(c *Cell, m *Meta) ([]byte, error) {
	r := cellRow(c)
	metaRow(m, r)
	hostRow(c.Host, r)
	return encodeCSV(columns([]*Cell{c}, false, m), []row{r})
}

// WriteCellCSV writes the CSV of cell c to path, atomically.
func WriteCellCSV(path string, c *Cell, m *Meta) error {
	data, err := CellCSV(c, m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, data)
}

// WriteCell writes DIR/cells/NAME.json and DIR/cells/NAME.csv for cell c (NAME being
// plan.FileName of its ID), the JSON first; before them, when the cell has lit's per-test
// results, DIR/cells/NAME.tests.csv. m is the run metadata for the CSV's columns; nil
// leaves them empty.
func WriteCell(dir, name string, c *Cell, m *Meta) error {
	base := filepath.Join(dir, CellsDir, name)
	if c.Lit != nil && c.Lit.Tests != nil {
		// Before the JSON that names it: a cell file never points at a missing tests file.
		c.Lit.TestsFile = name + TestsSuffix
		if err := WriteFileAtomic(base+TestsSuffix, litTestsCSV(c.Lit.Tests)); err != nil {
			return err
		}
	}
	if err := WriteJSON(base+".json", c); err != nil {
		return err
	}
	return WriteCellCSV(base+".csv", c, m)
}

// SummaryCSV returns summary.csv: one row per cell (kind "cell"), then, per group, one row
// per metric (kind "group").
func SummaryCSV(s *Summary) ([]byte, error) {
	var rows []row
	for _, c := range s.Cells {
		r := cellRow(c)
		r["kind"] = "cell"
		metaRow(s.Meta, r)
		hostRow(c.Host, r)
		rows = append(rows, r)
	}
	for _, g := range s.Groups {
		for _, r := range statsRows(g) {
			metaRow(s.Meta, r)
			rows = append(rows, r)
		}
	}
	return encodeCSV(columns(s.Cells, true, s.Meta), rows)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
