package results

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const seedRef = "reference/seed-2024-10.csv"

// copyRun copies a fixture run directory into a temporary one, so that regenerating it
// writes nothing under testdata.
func copyRun(t *testing.T, fixture string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(fixture))
	err := filepath.WalkDir(fixture, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixture, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\ngot:  %q\nwant: %q\n(go test -update rewrites it)", path, i+1, g, w)
			}
		}
	}
}

// TestRegenerateGolden regenerates the fixture runs and compares every derived file with
// its golden copy: the seed-like run with a reference, and a real 9p run under TCG (no
// run.json, all squashfs cells failed, a leftover temporary file).
func TestRegenerateGolden(t *testing.T) {
	for _, tc := range []struct {
		fixture, ref string
		cellCSV      string // one cell CSV to compare too
	}{
		{"seed-a", seedRef, "squashfs.compression-none__empty__r2.csv"},
		{"tcg-9p", "", "9p.msize-65536.cache-loose__asis__r3.csv"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := copyRun(t, filepath.Join("testdata", "runs", tc.fixture))
			s, err := Regenerate(dir, RegenerateOptions{Reference: tc.ref})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Skipped) != 0 {
				t.Errorf("skipped %v; the temporary file must be ignored silently", s.Skipped)
			}
			files := []string{ReportFile, ChartFile, SummaryCSVFile, SummaryJSON, filepath.Join(CellsDir, tc.cellCSV)}
			if tc.ref != "" {
				files = append(files, CompareChartFile)
			}
			for _, c := range SweepCharts(s) {
				files = append(files, c.File)
			}
			if len(files) < 6 {
				t.Errorf("no sweep chart; the fixtures sweep 9p's msize")
			}
			for _, f := range files {
				data, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(tc.fixture, filepath.Base(f)), data)
			}
			// Every cell JSON got its CSV.
			jsons, _ := filepath.Glob(filepath.Join(dir, CellsDir, "*.json"))
			csvs, _ := filepath.Glob(filepath.Join(dir, CellsDir, "*.csv"))
			if len(csvs) != len(jsons) || len(jsons) == 0 {
				t.Errorf("%d cell JSON files but %d CSV files", len(jsons), len(csvs))
			}
		})
	}
}

// TestChartIsWellFormedSVG parses the chart as XML and checks it draws one bar segment per
// non-zero chart phase of each ok group.
func TestChartIsWellFormedSVG(t *testing.T) {
	run, err := ReadRun(filepath.Join("testdata", "runs", "seed-a"))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(run.Cells, run.Meta)
	rects := countSVG(t, Chart(s, "a <title> & more"), "rect", "height", "18")
	want := 0
	for _, g := range s.Groups {
		if g.OK == 0 {
			continue
		}
		for _, ph := range chartPhases {
			if g.Parts[ph.name] > 0 {
				want++
			}
		}
	}
	if rects != want {
		t.Errorf("%d bar segments, want %d", rects, want)
	}
}

// TestCompareChart draws the seed-like fixture's ratios to squashfs beside the seed's: a
// bar of this run's per method and cache state, and one of the reference's where it has a
// total (9p, virtiofs, squashfs and ext4 in two cache states; not ssh-tar), each colour
// once more in the legend.
func TestCompareChart(t *testing.T) {
	ref, err := ReadReference(seedRef)
	if err != nil {
		t.Fatal(err)
	}
	tables := CompareReference(loadFixture(t, "seed-a"), ref, "")
	svg := CompareChart(tables, ref)
	runBars, refBars := 0, 0
	for _, tb := range tables {
		if tb.Title == allCaches {
			continue
		}
		for _, r := range tb.Rows {
			if r.Base != nil {
				runBars++
			}
			if r.RefBase > 0 {
				refBars++
			}
		}
	}
	if refBars != 8 {
		t.Errorf("%d rows with a reference ratio, want 8", refBars)
	}
	if n := countSVG(t, svg, "rect", "fill", compareRunColor); n != runBars+1 {
		t.Errorf("%d bars of this run (with the legend's), want %d", n, runBars+1)
	}
	if n := countSVG(t, svg, "rect", "fill", compareRefColor); n != refBars+1 {
		t.Errorf("%d bars of the reference (with the legend's), want %d", n, refBars+1)
	}
}

// countSVG parses svg as XML and counts the elements named elem whose attribute attr is val.
func countSVG(t *testing.T, svg []byte, elem, attr, val string) int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	n := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == elem {
			for _, a := range se.Attr {
				if a.Name.Local == attr && a.Value == val {
					n++
				}
			}
		}
	}
}

func TestNiceAxis(t *testing.T) {
	for _, tc := range []struct{ max, step, top float64 }{
		{1310, 200, 1400}, {10.6, 2, 12}, {0.5, 0.1, 0.5}, {800, 100, 800}, {0, 1, 1},
	} {
		step, top := niceAxis(tc.max)
		if !near(step, tc.step, 1e-9) || !near(top, tc.top, 1e-9) {
			t.Errorf("niceAxis(%v) = %v, %v; want %v, %v", tc.max, step, top, tc.step, tc.top)
		}
	}
}

func TestLabelsAndSweeps(t *testing.T) {
	cell := func(id, method string, params map[string]any, workload float64) *Cell {
		g := groupOf(id)
		parts := strings.Split(g, "/")
		return &Cell{ID: id, Group: g, Method: method, Params: params, Cache: parts[len(parts)-1], Repetition: 1,
			Status: StatusOK, Phases: map[Phase]float64{"boot": 2, "workload": workload}, Total: workload, Wall: workload + 2}
	}
	// Listed with thread_pool_size 16 first: the sweep table still orders 0 before 16.
	cells := []*Cell{
		cell("virtiofs.cache=always.thread_pool_size=16/asis/r1", "virtiofs", map[string]any{"cache": "always", "thread_pool_size": 16.0}, 41),
		cell("virtiofs.cache=always.thread_pool_size=0/asis/r1", "virtiofs", map[string]any{"cache": "always", "thread_pool_size": 0.0}, 40),
		cell("virtiofs.cache=never.thread_pool_size=16/asis/r1", "virtiofs", map[string]any{"cache": "never", "thread_pool_size": 16.0}, 63),
		cell("virtiofs.cache=never.thread_pool_size=0/asis/r1", "virtiofs", map[string]any{"cache": "never", "thread_pool_size": 0.0}, 61.5),
		cell("ssh-tar.cipher=aes128-gcm@openssh.com/asis/r1", "ssh-tar", map[string]any{"cipher": "aes128-gcm@openssh.com"}, 90),
	}
	s := Summarize(cells, nil)
	var labels []string
	for _, g := range s.Groups {
		labels = append(labels, g.Label)
	}
	want := "virtiofs cache=always thread_pool_size=16|virtiofs cache=always thread_pool_size=0|" +
		"virtiofs cache=never thread_pool_size=16|virtiofs cache=never thread_pool_size=0|ssh-tar"
	if got := strings.Join(labels, "|"); got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
	golden(t, "two-param-sweep.md", Report(s, ReportInput{Name: "sweep"}))
}
