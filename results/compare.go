package results

import (
	"fmt"
	"math"
)

// Alpha is the significance level of CompareRuns' Mann-Whitney U test.
var Alpha = 0.05

// Change is how one group's total moved from run A to run B.
type Change struct {
	Group string `json:"group"`
	Label string `json:"label"`
	A     Stats  `json:"a"` // totals of A's ok cells
	B     Stats  `json:"b"`
	// Change is (B median - A median) / A median; 0 when either has no ok cell.
	Change float64 `json:"change"`
	// Test is how Beyond was decided: "mann-whitney" (exact two-sided U test at Alpha),
	// "ci" (the CIs of the two medians do not overlap; used when the U test cannot reach
	// Alpha with so few repetitions) or "none" (fewer than 2 ok cells on a side).
	Test string `json:"test"`
	// U and P are the Mann-Whitney statistic and p-value, computed whenever both sides have
	// 3 or more ok cells; P is 0 (and U meaningless) otherwise.
	U      float64 `json:"u"`
	P      float64 `json:"p"`
	Beyond bool    `json:"beyond_noise"`
	// Verdict says the above in words.
	Verdict string `json:"verdict"`
}

// CompareRuns compares every group present in both summaries, in A's order, and lists the
// groups present in only one.
func CompareRuns(a, b *Summary) (changes []Change, onlyA, onlyB []string) {
	bs := map[string]*Group{}
	for _, g := range b.Groups {
		bs[g.Group] = g
	}
	as := map[string]bool{}
	for _, ga := range a.Groups {
		as[ga.Group] = true
		gb := bs[ga.Group]
		if gb == nil {
			onlyA = append(onlyA, ga.Group)
			continue
		}
		changes = append(changes, compareGroup(ga, gb, totals(a, ga), totals(b, gb)))
	}
	for _, g := range b.Groups {
		if !as[g.Group] {
			onlyB = append(onlyB, g.Group)
		}
	}
	return changes, onlyA, onlyB
}

// totals are the totals of g's ok cells.
func totals(s *Summary, g *Group) []float64 {
	var xs []float64
	for _, c := range s.Cells {
		if c.Group == g.Group && c.Status == StatusOK {
			xs = append(xs, c.Total)
		}
	}
	return xs
}

func compareGroup(ga, gb *Group, xa, xb []float64) Change {
	c := Change{Group: ga.Group, Label: ga.Label, A: ga.Total, B: gb.Total, Test: "none"}
	na, nb := len(xa), len(xb)
	if na > 0 && nb > 0 && ga.Total.Median != 0 {
		c.Change = (gb.Total.Median - ga.Total.Median) / ga.Total.Median
	}
	if na >= 3 && nb >= 3 {
		c.U, c.P = MannWhitney(xa, xb)
	}
	switch {
	case na < 2 || nb < 2:
		c.Verdict = fmt.Sprintf("unknown: %d and %d ok repetitions (need 2 each)", na, nb)
	case na >= 3 && nb >= 3 && minExactP(na, nb) < Alpha:
		c.Test = "mann-whitney"
		c.Beyond = c.P < Alpha
		if c.Beyond {
			c.Verdict = fmt.Sprintf("yes: Mann-Whitney U=%s, p=%s < %s", formatFloat(c.U), formatP(c.P), formatFloat(Alpha))
		} else {
			c.Verdict = fmt.Sprintf("no: Mann-Whitney U=%s, p=%s", formatFloat(c.U), formatP(c.P))
		}
	default:
		c.Test = "ci"
		c.Beyond = ga.Total.CIHigh < gb.Total.CILow || gb.Total.CIHigh < ga.Total.CILow
		how := fmt.Sprintf("the %s and %s CIs of the medians", formatPct(ga.Total.CICoverage), formatPct(gb.Total.CICoverage))
		if c.Beyond {
			c.Verdict = "likely: " + how + " do not overlap"
		} else {
			c.Verdict = "no: " + how + " overlap"
		}
		if na >= 3 && nb >= 3 {
			c.Verdict += fmt.Sprintf("; Mann-Whitney p=%s cannot go below %s with %d and %d", formatP(c.P), formatP(minExactP(na, nb)), na, nb)
		}
	}
	return c
}

// minExactP is the smallest two-sided p-value the exact U test can give: 2/C(n1+n2, n1).
func minExactP(n1, n2 int) float64 {
	return math.Min(1, 2*math.Exp(-lchoose(n1+n2, n1)))
}

func formatP(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3g", p)
}
