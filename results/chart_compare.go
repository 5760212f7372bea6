package results

import (
	"bytes"
	"fmt"
	"path/filepath"
)

// Colours of the comparison chart.
const (
	compareRunColor = "#4e79a7"
	compareRefColor = "#e8a33d"
)

// CompareChart renders compare.svg: per cache state, each method's total over the
// baseline's, this run's bar (with its interval as a whisker) beside the reference's, on one
// ratio axis with the baseline at 1. Ratios compare across machines where absolute totals
// do not.
func CompareChart(tables []RankTable, ref *Reference) []byte {
	type row struct {
		label string
		r     RankRow
	}
	type section struct {
		title string
		rows  []row
	}
	var secs []section
	baseline := DefaultBaseline
	maxX, labelW := 1.0, 0
	for _, t := range tables {
		if t.Title == allCaches {
			continue
		}
		baseline = t.Baseline
		sec := section{title: t.Title}
		for _, r := range t.Rows {
			if r.Base == nil && r.RefBase == 0 {
				continue
			}
			label := r.Method
			if r.Label != "" {
				label += " (" + r.Label + ")"
			}
			labelW = max(labelW, len([]rune(label)))
			if r.Base != nil {
				maxX = max(maxX, r.Base.High, r.Base.Estimate)
			}
			maxX = max(maxX, r.RefBase)
			sec.rows = append(sec.rows, row{label, r})
		}
		if len(sec.rows) > 0 {
			secs = append(secs, sec)
		}
	}
	step, top := niceAxis(maxX * 1.02)
	left := 16 + labelW*chartCharW + 16
	const right = 150 // room for the value labels
	plotW := max(chartWidth-left-right, 300)
	width := left + plotW + right
	x := func(v float64) float64 { return float64(left) + v/top*float64(plotW) }
	const barH, pairGap, rowGap, secGap = 14, 2, 12, 30
	const legendY = 50
	y := legendY + 30
	height := y
	for _, sec := range secs {
		height += 22 + len(sec.rows)*(2*barH+pairGap+rowGap) + secGap
	}
	axisY := height - secGap + 6
	height = axisY + 50

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="%d">`+"\n",
		width, height, width, height, chartFont)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p(`<text x="16" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", xmlEscape("Total relative to "+baseline+" (1 = as fast as "+baseline+"; below 1 is faster)"))
	refName := "reference"
	if ref != nil {
		refName = "reference (" + filepath.Base(ref.Path) + ")"
	}
	p(`<rect x="16" y="%d" width="12" height="12" fill="%s"/><text x="33" y="%d">this run, with its interval</text>`+"\n", legendY-10, compareRunColor, legendY)
	lx := 33 + len("this run, with its interval")*chartCharW + 20
	p(`<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, legendY-10, compareRefColor, lx+17, legendY, xmlEscape(refName))
	// Grid.
	for t := 0.0; t <= top+step/2; t += step {
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e6e6e6"/>`+"\n", x(t), legendY+20, x(t), axisY)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%s</text>`+"\n", x(t), axisY+16, formatFloat(roundTick(t, step)))
	}
	p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>`+"\n", left, axisY, left+plotW, axisY)
	p(`<text x="%d" y="%d" text-anchor="middle" fill="#444">total / %s's total in the same cache state</text>`+"\n", left+plotW/2, axisY+36, xmlEscape(baseline))
	for _, sec := range secs {
		p(`<text x="16" y="%d" font-weight="bold">%s</text>`+"\n", y+12, xmlEscape(sec.title))
		y += 22
		for _, r := range sec.rows {
			mid := y + barH + pairGap/2
			p(`<text x="16" y="%d">%s</text>`+"\n", mid+chartFont/2-2, xmlEscape(r.label))
			if bs := r.r.Base; bs != nil {
				p(`<rect x="%d" y="%d" width="%.2f" height="%d" fill="%s"><title>this run: %.3f [%.3f – %.3f] (%s)</title></rect>`+"\n",
					left, y, x(bs.Estimate)-float64(left), barH, compareRunColor, bs.Estimate, bs.Low, bs.High, bs.How)
				wy := y + barH/2
				p(`<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="#1b2a3a" stroke-width="1.5"/>`+"\n", x(bs.Low), wy, x(bs.High), wy)
				for _, v := range []float64{bs.Low, bs.High} {
					p(`<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="#1b2a3a" stroke-width="1.5"/>`+"\n", x(v), y+2, x(v), y+barH-2)
				}
				p(`<text x="%.1f" y="%d" fill="#1b2a3a">%.2f [%.2f–%.2f]</text>`+"\n", max(x(bs.High), x(bs.Estimate))+6, y+barH-3, bs.Estimate, bs.Low, bs.High)
			} else {
				p(`<text x="%d" y="%d" fill="#999">not in this run</text>`+"\n", left+6, y+barH-3)
			}
			ry := y + barH + pairGap
			if r.r.RefBase > 0 {
				p(`<rect x="%d" y="%d" width="%.2f" height="%d" fill="%s"><title>reference: %.3f</title></rect>`+"\n",
					left, ry, x(r.r.RefBase)-float64(left), barH, compareRefColor, r.r.RefBase)
				note := fmt.Sprintf("%.2f", r.r.RefBase)
				if r.r.Agree != nil {
					note += map[bool]string{true: " (within ours)", false: " (outside ours)"}[*r.r.Agree]
				}
				p(`<text x="%.1f" y="%d" fill="#6b4a12">%s</text>`+"\n", x(r.r.RefBase)+6, ry+barH-3, note)
			} else {
				p(`<text x="%d" y="%d" fill="#999">not in the reference</text>`+"\n", left+6, ry+barH-3)
			}
			y += 2*barH + pairGap + rowGap
		}
		y += secGap
	}
	// The baseline, drawn over the bars.
	p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222" stroke-dasharray="4 3"/>`+"\n", x(1), legendY+20, x(1), axisY)
	p("</svg>\n")
	return b.Bytes()
}
