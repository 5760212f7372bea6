package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Files Regenerate writes in a run directory.
const (
	SummaryJSON    = "summary.json"
	SummaryCSVFile = "summary.csv"
	ReportFile     = "report.md"
	ChartFile      = "chart.svg"
	// CompareChartFile draws the ratios to the baseline, this run's beside the reference's.
	CompareChartFile = "compare.svg"
)

// RegenerateOptions are the choices of Regenerate.
type RegenerateOptions struct {
	// Reference is a reference CSV to compare with; "" uses the one recorded in run.json,
	// when it still exists.
	Reference string
	// ByHost splits the report's statistics by the node each cell ran on.
	ByHost bool
	// Baseline is the method the others are paired with; "" is DefaultBaseline.
	Baseline string
}

// Regenerate rebuilds everything derived from a run directory's cells/*.json and run.json:
// each cells/<cell>.csv, summary.json, summary.csv, report.md, chart.svg, a
// sweep-<method>-<param>.svg per swept parameter and, with a reference, compare.svg. Unreadable
// cell files are listed in the summary's Skipped and in the report, not fatal. It returns
// the summary.
func Regenerate(dir string, o RegenerateOptions) (*Summary, error) {
	run, err := ReadRun(dir)
	if err != nil {
		return nil, err
	}
	var ref *Reference
	refPath := o.Reference
	if refPath == "" && run.Meta != nil && run.Meta.Reference != "" {
		if _, err := os.Stat(run.Meta.Reference); err == nil {
			refPath = run.Meta.Reference
		}
	}
	if refPath != "" {
		if ref, err = ReadReference(refPath); err != nil {
			return nil, err
		}
	}
	for _, c := range run.Cells {
		csvPath := filepath.Join(dir, strings.TrimSuffix(run.Files[c.ID], ".json")+".csv")
		if err := WriteCellCSV(csvPath, c, run.Meta); err != nil {
			return nil, err
		}
	}
	s := Summarize(run.Cells, run.Meta)
	s.Skipped = run.Skipped
	if err := WriteJSON(filepath.Join(dir, SummaryJSON), s); err != nil {
		return nil, err
	}
	data, err := SummaryCSV(s)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", filepath.Join(dir, SummaryCSVFile), err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, SummaryCSVFile), data); err != nil {
		return nil, err
	}
	name := filepath.Base(filepath.Clean(dir))
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	in := ReportInput{Name: name, Reference: ref, ByHost: o.ByHost, Baseline: o.Baseline}
	report := Report(s, in)
	if err := WriteFileAtomic(filepath.Join(dir, ReportFile), append(report, '\n')); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(dir, ChartFile), Chart(s, chartTitle(s, name))); err != nil {
		return nil, err
	}
	for _, c := range SweepCharts(s) {
		if err := WriteFileAtomic(filepath.Join(dir, c.File), c.SVG); err != nil {
			return nil, err
		}
	}
	if tables := compareTables(s, ref, in.baseline()); len(tables) > 0 {
		if err := WriteFileAtomic(filepath.Join(dir, CompareChartFile), CompareChart(tables, ref)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// compareTables are the rank tables of the run against ref, none without a reference.
func compareTables(s *Summary, ref *Reference, baseline string) []RankTable {
	if ref == nil {
		return nil
	}
	return CompareReference(s, ref, baseline)
}

func chartTitle(s *Summary, name string) string {
	if s.Meta != nil && s.Meta.Spec != "" {
		name = s.Meta.Spec
	}
	return name + ": median time per method and cache state"
}

// ReadSummary reads a summary.json.
func ReadSummary(path string) (*Summary, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// LoadSummary reads the run in dir and summarizes it, writing nothing.
func LoadSummary(dir string) (*Summary, error) {
	run, err := ReadRun(dir)
	if err != nil {
		return nil, err
	}
	s := Summarize(run.Cells, run.Meta)
	s.Skipped = run.Skipped
	return s, nil
}
