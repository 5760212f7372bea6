package results

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
)

// DefaultBaseline is the method every other is paired with test by test, and whose totals
// the ratios to the reference divide by: squashfs, the seed study's winner.
const DefaultBaseline = "squashfs"

// Paired compares one group's lit tests with the baseline group's, test by test. A test's
// time on a side is its median over the side's ok cells; a test is paired when both sides ran
// it with the same outcome and a time above 0. Ratios are the group's time over the
// baseline's.
type Paired struct {
	Group    string `json:"group"`
	Baseline string `json:"baseline"`
	// N is the number of paired tests; Faster, Slower and Same count those whose ratio is
	// below, above or exactly 1.
	N      int `json:"n"`
	Faster int `json:"faster"`
	Slower int `json:"slower"`
	Same   int `json:"same"`
	// Ratio is the median of the per-test ratios; RatioLow and RatioHigh its distribution-free
	// interval (order statistics, see MedianCI) with coverage RatioCoverage.
	Ratio         float64 `json:"ratio"`
	RatioLow      float64 `json:"ratio_low"`
	RatioHigh     float64 `json:"ratio_high"`
	RatioCoverage float64 `json:"ratio_coverage"`
	// SignP is the exact two-sided sign test of "a test is as likely faster as slower"
	// (ties left out).
	SignP float64 `json:"sign_p"`
	// W is the Wilcoxon signed-rank statistic of the log ratios (the sum of the ranks of the
	// slower tests) and WilcoxonP its two-sided p-value (see SignedRank).
	W         float64 `json:"wilcoxon_w"`
	WilcoxonP float64 `json:"wilcoxon_p"`
	// Changed are the tests whose outcome differs between the sides; OnlyOne counts tests
	// only one side ran.
	Changed []OutcomeChange `json:"changed,omitempty"`
	OnlyOne int             `json:"only_one_side,omitempty"`
}

// OutcomeChange is a test whose lit result code differs: "PASS" in the baseline, "FAIL"
// in the group. A side whose cells disagree has its codes joined with "/".
type OutcomeChange struct {
	Test     string `json:"test"`
	Baseline string `json:"baseline"`
	Group    string `json:"group"`
}

// sideTests is one side's per-test median time and outcome, over its ok cells with tests.
type sideTests struct {
	seconds map[string]float64
	code    map[string]string
	order   []string
}

func testsOf(s *Summary, g *Group) (sideTests, int) {
	st := sideTests{seconds: map[string]float64{}, code: map[string]string{}}
	times := map[string][]float64{}
	codes := map[string][]string{}
	cells := 0
	for _, c := range s.Cells {
		if c.Group != g.Group || c.Status != StatusOK || c.Lit == nil || len(c.Lit.Tests) == 0 {
			continue
		}
		cells++
		for _, t := range c.Lit.Tests {
			if _, seen := times[t.Name]; !seen {
				st.order = append(st.order, t.Name)
			}
			times[t.Name] = append(times[t.Name], t.Seconds)
			if !slices.Contains(codes[t.Name], t.Code) {
				codes[t.Name] = append(codes[t.Name], t.Code)
			}
		}
	}
	for name, xs := range times {
		slices.Sort(xs)
		st.seconds[name] = median(xs)
		slices.Sort(codes[name])
		st.code[name] = strings.Join(codes[name], "/")
	}
	return st, cells
}

// PairTests pairs group g with the baseline group b test by test. ok is false when either
// has no ok cell with lit's per-test results.
func PairTests(s *Summary, g, b *Group) (p Paired, ok bool) {
	tg, ng := testsOf(s, g)
	tb, nb := testsOf(s, b)
	if ng == 0 || nb == 0 {
		return Paired{}, false
	}
	p = Paired{Group: g.Group, Baseline: b.Group}
	var ratios, logs []float64
	for _, name := range tb.order {
		cg, ran := tg.code[name]
		if !ran {
			p.OnlyOne++
			continue
		}
		if cb := tb.code[name]; cb != cg {
			p.Changed = append(p.Changed, OutcomeChange{Test: name, Baseline: cb, Group: cg})
			continue
		}
		xg, xb := tg.seconds[name], tb.seconds[name]
		if xg <= 0 || xb <= 0 {
			continue
		}
		r := xg / xb
		ratios = append(ratios, r)
		logs = append(logs, math.Log(r))
		switch {
		case r < 1:
			p.Faster++
		case r > 1:
			p.Slower++
		default:
			p.Same++
		}
	}
	for _, name := range tg.order {
		if _, ran := tb.code[name]; !ran {
			p.OnlyOne++
		}
	}
	p.N = len(ratios)
	if p.N == 0 {
		return p, true
	}
	slices.Sort(ratios)
	p.Ratio = median(ratios)
	p.RatioLow, p.RatioHigh, p.RatioCoverage = MedianCI(ratios, CILevel)
	p.SignP = SignTest(p.Slower, p.Faster)
	p.W, p.WilcoxonP = SignedRank(logs)
	return p, true
}

// SignTest is the exact two-sided sign test of pos values above and neg below the
// hypothesised median: 2 min(P(B <= pos), P(B >= pos)) for B ~ Binomial(pos+neg, 1/2),
// at most 1; 1 when there is nothing to test.
func SignTest(pos, neg int) float64 {
	n := pos + neg
	if n == 0 {
		return 1
	}
	low := binomCDF(pos, n)
	high := 1.0
	if pos > 0 {
		high = 1 - binomCDF(pos-1, n)
	}
	return math.Min(1, 2*math.Min(low, high))
}

// SignedRank is the two-sided Wilcoxon signed-rank test that the differences d are
// symmetric about 0. Zeros are left out (Wilcoxon's convention) and tied |d| get mid-ranks.
// W is the sum of the ranks of the positive differences. P is exact (the distribution of W
// over the 2^n sign assignments) for up to 50 differences without ties, and otherwise the
// normal approximation with the tie correction of the variance and no continuity
// correction: z = (W - n(n+1)/4) / sqrt(n(n+1)(2n+1)/24 - sum(t^3-t)/48). These are the
// choices of scipy.stats.wilcoxon's defaults (zero_method "wilcox", correction False).
func SignedRank(d []float64) (w, p float64) {
	var nz []float64
	for _, x := range d {
		if x != 0 {
			nz = append(nz, x)
		}
	}
	n := len(nz)
	if n == 0 {
		return 0, 1
	}
	slices.SortFunc(nz, func(a, b float64) int {
		switch a, b := math.Abs(a), math.Abs(b); {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	})
	ties := 0.0 // sum of t^3 - t over groups of tied |d|
	for i := 0; i < n; {
		j := i + 1
		for j < n && math.Abs(nz[j]) == math.Abs(nz[i]) {
			j++
		}
		rank := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if nz[k] > 0 {
				w += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	if n <= 50 && ties == 0 {
		return w, exactSignedRankP(n, int(w))
	}
	fn := float64(n)
	mu := fn * (fn + 1) / 4
	sigma := math.Sqrt(fn*(fn+1)*(2*fn+1)/24 - ties/48)
	if sigma == 0 {
		return w, 1
	}
	z := (w - mu) / sigma
	return w, math.Min(1, math.Erfc(math.Abs(z)/math.Sqrt2))
}

// exactSignedRankP is 2 min(P(W <= w), P(W >= w)) for W the sum of a random subset of the
// ranks 1..n, each subset equally likely.
func exactSignedRankP(n, w int) float64 {
	maxSum := n * (n + 1) / 2
	ways := make([]float64, maxSum+1)
	ways[0] = 1
	for r := 1; r <= n; r++ {
		for s := maxSum; s >= r; s-- {
			ways[s] += ways[s-r]
		}
	}
	return twoSidedP(ways, w)
}

// PairWithBaseline pairs every ok group of the run with the baseline method's group in the
// same cache state (its fastest variant, by median total, when the baseline was swept).
// Groups of the baseline method itself and groups without per-test results are left out.
func PairWithBaseline(s *Summary, baseline string) []Paired {
	best := fastest(s)
	var out []Paired
	for _, g := range s.Groups {
		b := best[baseline+"/"+g.Cache]
		if b == nil || g.Method == baseline || g.OK == 0 {
			continue
		}
		if p, ok := PairTests(s, g, b); ok {
			out = append(out, p)
		}
	}
	return out
}

// verdict says in words what the paired tests found.
func (p Paired) verdict() string {
	if p.N == 0 {
		return "no test to pair"
	}
	diff := fmt.Sprintf("sign test p=%s, Wilcoxon p=%s", formatP(p.SignP), formatP(p.WilcoxonP))
	if p.WilcoxonP < Alpha && p.SignP < Alpha {
		if p.Ratio > 1 {
			return "slower than the baseline (" + diff + ")"
		}
		return "faster than the baseline (" + diff + ")"
	}
	return "no difference shown (" + diff + ")"
}

// Ratio is a group's median total over the baseline's, with an interval.
type Ratio struct {
	// Measured is the ratio of the two median totals.
	Measured float64 `json:"measured"`
	// Estimate, Low and High are the ratio and its interval as How computed them.
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
	// How is "per-test" when the workload's part comes from the paired per-test ratio, or
	// "repetitions" when only the repetitions' totals were there.
	How string `json:"how"`
}

// BaselineRatio is group g's total over the baseline group b's. With p (g's tests paired
// with b's), the workload part is the baseline's median workload times p's median per-test
// ratio, and the rest (build and transfer) each side's own median:
//
//	(O_g + R W_b) / (O_b + W_b),
//
// the interval putting R's interval and the order-statistic intervals of O_g and O_b (over
// the repetitions) at their ends. Without p it is the ratio of the median totals, between
// g's lowest over b's highest and g's highest over b's lowest interval ends. The interval's
// coverage is at most its parts': with 3 repetitions, an O interval is [min, max] (75%).
func BaselineRatio(s *Summary, g, b *Group, p *Paired) *Ratio {
	if g.OK == 0 || b.OK == 0 || b.Total.Median <= 0 {
		return nil
	}
	r := &Ratio{Measured: g.Total.Median / b.Total.Median}
	if p == nil {
		r.How = "repetitions"
		r.Estimate = r.Measured
		if b.Total.CIHigh > 0 && b.Total.CILow > 0 {
			r.Low, r.High = g.Total.CILow/b.Total.CIHigh, g.Total.CIHigh/b.Total.CILow
		}
		return r
	}
	r.How = "per-test"
	og, ob := outsideWorkload(s, g), outsideWorkload(s, b)
	wb := b.Phases[PhaseWorkload].Median
	r.Estimate = (og.Median + p.Ratio*wb) / (ob.Median + wb)
	if d := ob.CIHigh + wb; d > 0 {
		r.Low = (og.CILow + p.RatioLow*wb) / d
	}
	if d := ob.CILow + wb; d > 0 {
		r.High = (og.CIHigh + p.RatioHigh*wb) / d
	}
	return r
}

// outsideWorkload describes the part of the total outside the workload (build and
// transfer) over g's ok cells.
func outsideWorkload(s *Summary, g *Group) Stats {
	var xs []float64
	for _, c := range s.Cells {
		if c.Group == g.Group && c.Status == StatusOK {
			xs = append(xs, max(0, c.Total-c.Phases[PhaseWorkload]))
		}
	}
	return Describe(xs)
}

// writePaired writes the test-by-test comparison of every group with the baseline.
func writePaired(b *bytes.Buffer, s *Summary, baseline string) {
	ps := PairWithBaseline(s, baseline)
	if len(ps) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Test by test, against %s\n\n", mdEscape(baseline))
	p("Each test's time is its median over the group's ok cells (lit's JSON report, cells/<cell>%s); a test is paired when both sides ran it with the same outcome. "+
		"The ratio is the group's time over %[2]s's: its median over the paired tests, with the distribution-free %[3]s interval of the median (order statistics, as above). "+
		"Sign test: exact binomial on how many tests were slower. Wilcoxon: signed-rank test of the log ratios (exact up to 50 tests without ties, else the normal approximation with tie correction). "+
		"Both are two-sided; a difference is shown when both are below %[4]s.\n\n", TestsSuffix, mdEscape(baseline), formatPct(CILevel), formatFloat(Alpha))
	p("| group | against | tests | median ratio | interval | faster / slower / same | sign test p | Wilcoxon p | verdict | outcome changed |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range ps {
		ratio, ci := "—", "—"
		if x.N > 0 {
			ratio = fmt.Sprintf("%.3f", x.Ratio)
			ci = fmt.Sprintf("%.3f – %.3f (%s)", x.RatioLow, x.RatioHigh, formatPct(x.RatioCoverage))
		}
		var changed []string
		for i, c := range x.Changed {
			if i == 8 {
				changed = append(changed, fmt.Sprintf("and %d more", len(x.Changed)-i))
				break
			}
			changed = append(changed, fmt.Sprintf("%s (%s → %s)", c.Test, c.Baseline, c.Group))
		}
		if x.OnlyOne > 0 {
			changed = append(changed, fmt.Sprintf("%d run on one side only", x.OnlyOne))
		}
		p("| %s | %s | %d | %s | %s | %d / %d / %d | %s | %s | %s | %s |\n", mdCode(x.Group), mdCode(x.Baseline), x.N, ratio, ci,
			x.Faster, x.Slower, x.Same, formatP(x.SignP), formatP(x.WilcoxonP), mdEscape(x.verdict()), mdEscape(strings.Join(changed, "; ")))
	}
	p("\n")
}
