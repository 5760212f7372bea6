package results

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SweepChart is one chart of a sweep: a method's median total against one swept parameter.
type SweepChart struct {
	Method, Param string
	// File is the chart's file name in the run directory: sweep-<method>-<param>.svg.
	File string
	SVG  []byte
}

// sweepColors tell the series of a sweep chart apart.
var sweepColors = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// sweepPoint is one group of a sweep chart: a value of the parameter in one series.
type sweepPoint struct {
	value string
	g     *Group
}

// sweepSeries is one line (or bar colour) of a sweep chart: a cache state and the values of
// the method's other swept parameters.
type sweepSeries struct {
	name   string
	points []sweepPoint
}

// SweepCharts draws a chart per swept parameter of each swept method: the median total
// (with its interval over the repetitions) against the parameter, one series per cache
// state (and per value of the method's other swept parameters). A numeric parameter gets
// lines over a linear axis, or a logarithmic one when its values span a factor of 16 or
// more; any other gets grouped bars.
func SweepCharts(s *Summary) []SweepChart {
	swept := sweptParams(s)
	var out []SweepChart
	var methods []string
	for _, v := range s.Variants() {
		if len(swept[v.Method]) > 0 && !slices.Contains(methods, v.Method) {
			methods = append(methods, v.Method)
		}
	}
	for _, m := range methods {
		var vs []*Group
		for _, v := range s.Variants() {
			if v.Method == m {
				vs = append(vs, v)
			}
		}
		for _, k := range swept[m] {
			others := slices.DeleteFunc(slices.Clone(swept[m]), func(o string) bool { return o == k })
			values := sweepValues(vs, k)
			var series []*sweepSeries
			byName := map[string]*sweepSeries{}
			for _, c := range s.Caches() {
				for _, v := range vs {
					g := s.Find(v.Variant, c)
					if g == nil {
						continue
					}
					name := c + " cache"
					for _, o := range others {
						name += ", " + o + "=" + paramText(v, o)
					}
					se := byName[name]
					if se == nil {
						se = &sweepSeries{name: name}
						byName[name] = se
						series = append(series, se)
					}
					se.points = append(se.points, sweepPoint{paramText(v, k), g})
				}
			}
			nums, numeric := numericValues(vs, k, values)
			title := fmt.Sprintf("%s: median total against %s", m, k)
			var svg []byte
			if numeric && len(values) > 1 {
				svg = sweepLines(title, k, values, nums, series)
			} else {
				svg = sweepBars(title, k, values, series)
			}
			out = append(out, SweepChart{Method: m, Param: k, File: sweepFile(m, k), SVG: svg})
		}
	}
	return out
}

var unsafeFileRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sweepFile is a sweep chart's file name.
func sweepFile(method, param string) string {
	return "sweep-" + unsafeFileRE.ReplaceAllString(method, "_") + "-" + unsafeFileRE.ReplaceAllString(param, "_") + ".svg"
}

// numericValues parses the values (as paramText writes them) as numbers; false when one is
// not a number.
func numericValues(vs []*Group, k string, values []string) (map[string]float64, bool) {
	nums := map[string]float64{}
	for _, val := range values {
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, false
		}
		nums[val] = f
	}
	for _, v := range vs { // a string parameter whose values happen to read as numbers stays one
		if _, isStr := v.Params[k].(string); isStr {
			return nil, false
		}
	}
	return nums, true
}

// sweepFrame is the shared geometry of a sweep chart: title, legend, y axis in seconds.
type sweepFrame struct {
	b                  bytes.Buffer
	width, height      int
	left, top, plotW   int
	plotH, yTop, yStep float64
}

func (f *sweepFrame) p(format string, args ...any) { fmt.Fprintf(&f.b, format, args...) }

// y maps seconds to the plot's vertical position.
func (f *sweepFrame) y(sec float64) float64 {
	return float64(f.top) + f.plotH - sec/f.yTop*f.plotH
}

// newSweepFrame draws the frame: title, legend of the series, the y grid up to the highest
// interval end.
func newSweepFrame(title string, series []*sweepSeries) *sweepFrame {
	f := &sweepFrame{width: chartWidth, left: 80, plotH: 320}
	maxY := 0.0
	for _, se := range series {
		for _, pt := range se.points {
			if pt.g.OK > 0 {
				maxY = max(maxY, pt.g.Total.CIHigh, pt.g.Total.Median)
			}
		}
	}
	f.yStep, f.yTop = niceTimeAxis(maxY)
	f.plotW = f.width - f.left - 40
	// Legend rows below the title, as many entries on a row as fit.
	legendTop := 44
	x, rows := 16, 1
	for _, se := range series {
		w := 17 + len([]rune(se.name))*chartCharW + 18
		if x+w > f.width-16 && x > 16 {
			x, rows = 16, rows+1
		}
		x += w
	}
	f.top = legendTop + rows*18 + 16
	f.height = f.top + int(f.plotH) + 60
	f.p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="%d">`+"\n",
		f.width, f.height, f.width, f.height, chartFont)
	f.p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	f.p(`<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", xmlEscape(title))
	x, ly := 16, legendTop
	for i, se := range series {
		w := 17 + len([]rune(se.name))*chartCharW + 18
		if x+w > f.width-16 && x > 16 {
			x, ly = 16, ly+18
		}
		f.p(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", x, ly-10, sweepColors[i%len(sweepColors)], x+17, ly, xmlEscape(se.name))
		x += w
	}
	for t := 0.0; t <= f.yTop+f.yStep/2; t += f.yStep {
		yt := f.y(t)
		f.p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e6e6e6"/>`+"\n", f.left, yt, f.left+f.plotW, yt)
		f.p(`<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", f.left-6, yt+4, FormatDuration(roundTick(t, f.yStep)))
	}
	f.p(`<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="#444"/>`+"\n", f.left, f.top, f.left, f.y(0))
	f.p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#444"/>`+"\n", f.left, f.y(0), f.left+f.plotW, f.y(0))
	return f
}

// end writes the x axis title and closes the SVG.
func (f *sweepFrame) end(xTitle string) []byte {
	f.p(`<text x="%d" y="%d" text-anchor="middle" fill="#444">%s</text>`+"\n", f.left+f.plotW/2, f.height-14, xmlEscape(xTitle))
	f.p("</svg>\n")
	return f.b.Bytes()
}

// whisker draws an interval at x from lo to hi seconds.
func (f *sweepFrame) whisker(x, lo, hi float64, color string) {
	if hi <= lo {
		return
	}
	f.p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n", x, f.y(lo), x, f.y(hi), color)
	for _, v := range []float64{lo, hi} {
		f.p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n", x-4, f.y(v), x+4, f.y(v), color)
	}
}

// sweepLines draws a numeric sweep: a line per series through the median totals, each point
// with its interval.
func sweepLines(title, param string, values []string, nums map[string]float64, series []*sweepSeries) []byte {
	f := newSweepFrame(title, series)
	lo, hi := nums[values[0]], nums[values[len(values)-1]]
	// A logarithmic axis where the values span a factor of 16 (msize 8192 to 512000); with 0
	// among them (thread_pool_size 0, 1, 16, 64), of 1 + the value.
	scale, shift := "", 0.0
	switch {
	case lo > 0 && hi/lo >= 16:
		scale = " (logarithmic)"
	case lo == 0 && hi >= 16:
		scale, shift = " (logarithmic, of 1 + the value)", 1
	}
	pos := func(v float64) float64 {
		frac := 0.5
		switch {
		case scale != "":
			frac = math.Log((v+shift)/(lo+shift)) / math.Log((hi+shift)/(lo+shift))
		case hi > lo:
			frac = (v - lo) / (hi - lo)
		}
		return float64(f.left) + 30 + frac*float64(f.plotW-60)
	}
	for _, val := range values { // one tick per swept value
		x := pos(nums[val])
		f.p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>`+"\n", x, f.y(0), x, f.y(0)+5)
		f.p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text>`+"\n", x, f.y(0)+19, xmlEscape(val))
	}
	for i, se := range series {
		color := sweepColors[i%len(sweepColors)]
		// Each series a little aside, so that equal medians and intervals stay visible.
		dodge := (float64(i) - float64(len(series)-1)/2) * 3
		pos := func(v float64) float64 { return pos(v) + dodge }
		pts := slices.Clone(se.points)
		slices.SortStableFunc(pts, func(a, b sweepPoint) int { return cmp.Compare(nums[a.value], nums[b.value]) })
		var path []string
		for _, pt := range pts {
			if pt.g.OK == 0 {
				continue
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", pos(nums[pt.value]), f.y(pt.g.Total.Median)))
		}
		if len(path) > 1 {
			f.p(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(path, " "), color)
		}
		for _, pt := range pts {
			x := pos(nums[pt.value])
			if pt.g.OK == 0 {
				f.p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#c0392b">failed</text>`+"\n", x, f.y(0)-6)
				continue
			}
			t := pt.g.Total
			f.whisker(x, t.CILow, t.CIHigh, color)
			f.p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s %s: %s [%s – %s]</title></circle>`+"\n", x, f.y(t.Median), color,
				xmlEscape(pt.g.Group), xmlEscape(param), FormatDuration(t.Median), FormatDuration(t.CILow), FormatDuration(t.CIHigh))
		}
	}
	return f.end(param + scale + "; points: median total, whiskers: its interval over the repetitions")
}

// sweepBars draws a sweep over named values: a group of bars per value, one bar per series,
// each with its interval.
func sweepBars(title, param string, values []string, series []*sweepSeries) []byte {
	f := newSweepFrame(title, series)
	groupW := float64(f.plotW) / float64(max(1, len(values)))
	barW := min(40, (groupW-20)/float64(max(1, len(series))))
	for vi, val := range values {
		gx := float64(f.left) + float64(vi)*groupW
		x0 := gx + (groupW-barW*float64(len(series)))/2
		f.p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text>`+"\n", gx+groupW/2, f.y(0)+19, xmlEscape(val))
		for si, se := range series {
			color := sweepColors[si%len(sweepColors)]
			x := x0 + float64(si)*barW
			idx := slices.IndexFunc(se.points, func(pt sweepPoint) bool { return pt.value == val })
			if idx < 0 {
				continue
			}
			g := se.points[idx].g
			if g.OK == 0 {
				f.p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#c0392b" font-size="10">failed</text>`+"\n", x+barW/2, f.y(0)-4)
				continue
			}
			t := g.Total
			f.p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s [%s – %s]</title></rect>`+"\n",
				x+1, f.y(t.Median), barW-2, f.y(0)-f.y(t.Median), color, xmlEscape(g.Group), FormatDuration(t.Median), FormatDuration(t.CILow), FormatDuration(t.CIHigh))
			f.whisker(x+barW/2, t.CILow, t.CIHigh, "#222")
		}
	}
	return f.end(param + "; bars: median total, whiskers: its interval over the repetitions")
}

// niceTimeAxis is niceAxis for seconds: above two minutes its steps are whole minutes (1, 2,
// 5, 10, 15, 30, 60, 120), so that the ticks read 2m00s, 4m00s rather than 3m20s, 6m40s.
func niceTimeAxis(maxSec float64) (step, top float64) {
	if maxSec <= 120 {
		return niceAxis(maxSec)
	}
	for _, m := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600} {
		step = m * 60
		if maxSec/step <= 8 {
			break
		}
	}
	return step, math.Ceil(maxSec/step-1e-9) * step
}
