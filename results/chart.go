package results

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// chartPhase is one segment kind of a chart bar.
type chartPhase struct {
	name    Phase
	color   string
	inTotal bool
}

// chartPhases are drawn in this order: the phases of the total in strong colours, then boot
// and mount, which the total leaves out, in light ones.
var chartPhases = []chartPhase{
	{PhaseBuild, "#4e79a7", true},
	{PhaseTransfer, "#f28e2b", true},
	{PhaseWorkload, "#59a14f", true},
	{PhaseBoot, "#c9ced6", false},
	{PhaseMount, "#e6e2d3", false},
}

// Chart geometry, in SVG user units (pixels).
const (
	chartWidth    = 960
	chartBarH     = 18
	chartBarGap   = 5
	chartGroupGap = 12
	chartFont     = 12
	chartCharW    = 7 // a generous average width of a 12px sans-serif character
	chartMinRight = 80
)

// Chart renders chart.svg: one horizontal bar per method variant and cache state, stacked
// by phase from the median repetition (Group.Parts), labelled with the median total. The
// comparison with a reference is CompareChart's: its totals come from another machine.
func Chart(s *Summary, title string) []byte {
	caches := s.Caches()
	variants := s.Variants()
	labelW, cacheW := 0, 0
	for _, v := range variants {
		labelW = max(labelW, len([]rune(v.Label)))
	}
	if len(caches) > 1 {
		for _, c := range caches {
			cacheW = max(cacheW, len([]rune(c)))
		}
	}
	left := 16 + labelW*chartCharW + 12
	if cacheW > 0 {
		left += cacheW*chartCharW + 12
	}
	right := chartMinRight
	for _, g := range s.Groups {
		if g.OK > 0 {
			right = max(right, len([]rune(barLabel(g)))*chartCharW+16)
		}
	}
	plotW := max(chartWidth-left-right, 240)
	width := left + plotW + right

	maxX := 0.0
	for _, g := range s.Groups {
		if g.OK > 0 {
			maxX = max(maxX, barLength(g))
		}
	}
	step, top := niceAxis(maxX)
	x := func(sec float64) float64 { return float64(left) + sec/top*float64(plotW) }

	const legendY = 50
	barsTop := legendY + 26
	rows := 0
	for range variants {
		rows += len(caches)
	}
	barsH := rows*(chartBarH+chartBarGap) + max(0, len(variants)-1)*chartGroupGap
	axisY := barsTop + barsH + 4
	height := axisY + 50

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="%d">`+"\n",
		width, height, width, height, chartFont)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", xmlEscape(title))
	// Legend.
	lx := 16
	for _, ph := range chartPhases {
		name := string(ph.name)
		if !ph.inTotal {
			name += " (not in total)"
		}
		p(`<rect x="%d" y="%d" width="12" height="12" fill="%s" stroke="#888" stroke-width="0.5"/>`+"\n", lx, legendY-10, ph.color)
		p(`<text x="%d" y="%d">%s</text>`+"\n", lx+17, legendY, xmlEscape(name))
		lx += 17 + len(name)*chartCharW + 18
	}
	// Grid and axis.
	for t := 0.0; t <= top+step/2; t += step {
		xt := x(t)
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>`+"\n", xt, barsTop-4, xt, axisY)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>`+"\n", xt, axisY+16, formatFloat(roundTick(t, step)))
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>`+"\n", left, axisY, left+plotW, axisY)
	p(`<text x="%d" y="%d" text-anchor="middle" fill="#444">seconds (median repetition of each cell group)</text>`+"\n", left+plotW/2, axisY+36)
	// Bars.
	y := barsTop
	for vi, v := range variants {
		if vi > 0 {
			y += chartGroupGap
		}
		groupTop := y
		for _, c := range caches {
			g := s.Find(v.Variant, c)
			mid := y + chartBarH/2 + chartFont/2 - 2
			if cacheW > 0 {
				p(`<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>`+"\n", left-8, mid, xmlEscape(c))
			}
			switch {
			case g == nil:
				p(`<text x="%d" y="%d" fill="#999">not run</text>`+"\n", left+6, mid)
			case g.OK == 0:
				p(`<text x="%d" y="%d" fill="#c0392b">failed (%d of %d)</text>`+"\n", left+6, mid, g.Failed, g.Cells)
			default:
				at := 0.0
				for _, ph := range chartPhases {
					d := g.Parts[ph.name]
					if d <= 0 {
						continue
					}
					p(`<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
						x(at), y, x(at+d)-x(at), chartBarH, ph.color, xmlEscape(g.Group), ph.name, FormatDuration(d))
					at += d
				}
				label := barLabel(g)
				p(`<text x="%.1f" y="%d" font-weight="bold">%s</text>`+"\n", x(at)+6, mid, xmlEscape(label))
			}
			y += chartBarH + chartBarGap
		}
		labelY := (groupTop+y-chartBarGap)/2 + chartFont/2 - 2
		p(`<text x="16" y="%d">%s</text>`+"\n", labelY, xmlEscape(v.Label))
	}
	p("</svg>\n")
	return b.Bytes()
}

// barLabel is the text after a bar: the median total, the phases outside the total when
// they are a visible part of the bar (lest the label be read as the whole bar's length), and
// the failed repetitions.
func barLabel(g *Group) string {
	total, light := 0.0, 0.0
	for _, ph := range chartPhases {
		if d := max(0, g.Parts[ph.name]); ph.inTotal {
			total += d
		} else {
			light += d
		}
	}
	label := FormatDuration(g.Total.Median)
	if light > 0 && light >= 0.1*(total+light) {
		label += " + " + FormatDuration(light) + " boot/mount"
	}
	if g.Failed > 0 {
		label += fmt.Sprintf(" (%d failed)", g.Failed)
	}
	return label
}

// barLength is the drawn length of a group's bar: all its chart phases.
func barLength(g *Group) float64 {
	sum := 0.0
	for _, ph := range chartPhases {
		sum += max(0, g.Parts[ph.name])
	}
	return sum
}

// niceAxis returns a tick step of 1, 2 or 5 times a power of ten giving at most 8 ticks,
// and the axis end: the first tick at or above maxX.
func niceAxis(maxX float64) (step, top float64) {
	if maxX <= 0 {
		return 1, 1
	}
	raw := maxX / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	top = math.Ceil(maxX/step-1e-9) * step
	return step, top
}

// roundTick removes float noise from a tick value (0.30000000000000004).
func roundTick(t, step float64) float64 {
	digits := max(0, -int(math.Floor(math.Log10(step))))
	f := math.Pow(10, float64(digits))
	return math.Round(t*f) / f
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
