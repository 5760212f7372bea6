package results

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSweepCharts sweeps virtiofs's cache (named values) and thread_pool_size (numbers) in
// two cache states, 2 repetitions each, one group failed: a chart per parameter, lines for the
// numbers (one per cache state and cache mode), grouped bars for the names (one bar per ok
// group), each point with its whisker, and the report links both.
func TestSweepCharts(t *testing.T) {
	var cells []*Cell
	for _, cache := range []string{"empty", "warm"} {
		for _, mode := range []string{"always", "never"} {
			for _, tp := range []float64{0, 1, 16, 64} {
				for r := 1; r <= 2; r++ {
					g := fmt.Sprintf("virtiofs.cache=%s.thread_pool_size=%g/%s", mode, tp, cache)
					c := &Cell{ID: fmt.Sprintf("%s/r%d", g, r), Group: g, Method: "virtiofs", Params: map[string]any{"cache": mode, "thread_pool_size": tp},
						Cache: cache, Repetition: r, Status: StatusOK, Phases: map[Phase]float64{"workload": 60 + tp + float64(r)}, Total: 60 + tp + float64(r)}
					if mode == "never" && tp == 64 && cache == "warm" {
						c.Status = StatusFailed
					}
					cells = append(cells, c)
				}
			}
		}
	}
	s := Summarize(cells, nil)
	charts := SweepCharts(s)
	var files []string
	for _, c := range charts {
		files = append(files, c.File)
	}
	if !slices.Equal(files, []string{"sweep-virtiofs-cache.svg", "sweep-virtiofs-thread_pool_size.svg"}) {
		t.Fatalf("chart files %q", files)
	}
	bars, lines := charts[0].SVG, charts[1].SVG
	// 2 modes x 4 pool sizes x 2 cache states = 16 groups, one failed.
	if n := countSVG(t, bars, "text", "fill", "#c0392b"); n != 1 {
		t.Errorf("%d failed marks in the bar chart, want 1", n)
	}
	if n := strings.Count(string(bars), "<rect x=") - 8; n != 15 { // less the 8 legend swatches
		t.Errorf("%d bars, want 15", n)
	}
	if n := strings.Count(string(lines), "<polyline"); n != 4 {
		t.Errorf("%d lines, want 4 (2 cache states x 2 modes)", n)
	}
	if n := strings.Count(string(lines), "<circle"); n != 15 {
		t.Errorf("%d points, want 15", n)
	}
	if !strings.Contains(string(lines), "logarithmic, of 1 + the value") {
		t.Error("thread_pool_size 0 to 64 not on a log(1+x) axis")
	}
	rep := string(Report(s, ReportInput{Name: "sweep"}))
	for _, f := range files {
		if !strings.Contains(rep, "]("+f+")") {
			t.Errorf("report does not link %s", f)
		}
	}
}

// TestNiceTimeAxis: minutes above two minutes, niceAxis below.
func TestNiceTimeAxis(t *testing.T) {
	for _, tc := range []struct{ max, step, top float64 }{
		{1000, 300, 1200}, {340, 60, 360}, {100, 20, 100}, {4000, 600, 4200},
	} {
		step, top := niceTimeAxis(tc.max)
		if step != tc.step || top != tc.top {
			t.Errorf("niceTimeAxis(%v) = %v, %v; want %v, %v", tc.max, step, top, tc.step, tc.top)
		}
	}
}
