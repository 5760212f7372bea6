package results

import (
	"fmt"
	"strings"
	"testing"
)

// TestSignedRank checks the Wilcoxon signed-rank test on inputs whose W and p were computed
// apart from this code: by hand, and with a short Python program that enumerates all 2^n
// sign assignments (exact) or applies the textbook normal formula with the tie correction.
func TestSignedRank(t *testing.T) {
	for _, c := range []struct {
		name string
		d    []float64
		w, p float64
	}{
		// All 6 positive: W = 1+...+6 = 21, the largest of 2^6 = 64 equally likely sums, so
		// p = 2/64 (scipy.stats.wilcoxon gives 0.03125 too).
		{"all positive", []float64{1.5, 2.5, 0.5, 3.5, 4.5, 5.5}, 21, 0.03125},
		// W = 1+3+4+6+7+8 = 29; 19 of the 256 sign assignments reach 29 or more: p = 38/256.
		{"mixed", []float64{1, -2, 3, 4, -5, 6, 7, 8}, 29, 0.1484375},
		// Wikipedia's "Wilcoxon signed-rank test" example (x2 - x1 of its 10 pairs): one zero
		// left out, |d| = 5 tied twice, W+ = 18 (its W = W+ - W- = -9), normal approximation
		// with tie correction: z = -0.53358, p = 0.59363.
		{"ties and a zero", []float64{-15, 7, -5, -20, 0, 9, -17, 12, -5, 10}, 18, 0.5936305914425295},
		// 60 differences d_i = i, negative for every fourth: W+ = 1830 - 480 = 1350,
		// z = (1350 - 915) / sqrt(18452.5) = 3.20230, p = 0.00136336.
		{"normal", func() []float64 {
			var d []float64
			for i := 1; i <= 60; i++ {
				x := float64(i)
				if i%4 == 0 {
					x = -x
				}
				d = append(d, x)
			}
			return d
		}(), 1350, 0.0013633620914137974},
		{"nothing", []float64{0, 0}, 0, 1},
	} {
		w, p := SignedRank(c.d)
		if w != c.w || !near(p, c.p, 1e-9) {
			t.Errorf("%s: W=%v p=%v, want W=%v p=%v", c.name, w, p, c.w, c.p)
		}
	}
}

// TestSignTest: 8 of 10 above, P(B >= 8) = (45+10+1)/1024, two-sided 112/1024.
func TestSignTest(t *testing.T) {
	for _, c := range []struct {
		pos, neg int
		p        float64
	}{{8, 2, 0.109375}, {2, 8, 0.109375}, {6, 0, 0.03125}, {5, 5, 1}, {0, 0, 1}} {
		if p := SignTest(c.pos, c.neg); !near(p, c.p, 1e-9) {
			t.Errorf("SignTest(%d, %d) = %v, want %v", c.pos, c.neg, p, c.p)
		}
	}
}

// TestPairTests pairs a method's 10 tests with the baseline's over two repetitions each. The
// method's median time per test is 1.5x the baseline's for eight tests and 0.5x for two,
// so the ratios sorted are 0.5, 0.5, 1.5 x 8: median 1.5; with n = 10 the 95% interval is
// [x(2), x(9)] = [0.5, 1.5] (coverage 1 - 2 * 11/1024 = 0.978515625, by hand). Sign test as
// in TestSignTest (8 slower of 10): 0.109375. The log ratios are +-log 3 apart from
// +log 1.5: eight tied |d| = log 1.5 and two tied log 2; W+ = 8 * 4.5 = 36 (ranks 1-8 share
// 4.5), normal approximation with ties: z = (36 - 27.5)/sqrt(96.25 - (504 + 6)/48) = 0.91858,
// p = 0.35831 (computed in Python). One test fails in the method only and one runs only in
// the baseline.
func TestPairTests(t *testing.T) {
	mk := func(id, method string, rep int, scale map[int]float64, extra ...LitResult) *Cell {
		c := &Cell{ID: fmt.Sprintf("%s/warm/r%d", id, rep), Group: id + "/warm", Method: method, Cache: "warm", Repetition: rep,
			Status: StatusOK, Total: 10, Lit: &Lit{}}
		for i := 0; i < 10; i++ {
			s := float64((i + 1) * rep) // the repetitions differ; their medians pair (exactly, in binary)
			if f, ok := scale[i]; ok {
				s *= f
			}
			c.Lit.Tests = append(c.Lit.Tests, LitResult{Name: fmt.Sprintf("T :: t%d", i), Code: "PASS", Seconds: s})
		}
		c.Lit.Tests = append(c.Lit.Tests, extra...)
		return c
	}
	slow := map[int]float64{0: 0.5, 1: 0.5, 2: 1.5, 3: 1.5, 4: 1.5, 5: 1.5, 6: 1.5, 7: 1.5, 8: 1.5, 9: 1.5}
	s := Summarize([]*Cell{
		mk("squashfs", "squashfs", 1, nil, LitResult{"T :: flaky", "PASS", 1}, LitResult{"T :: base-only", "PASS", 1}),
		mk("9p", "9p", 1, slow, LitResult{"T :: flaky", "FAIL", 1}),
		mk("squashfs", "squashfs", 2, nil, LitResult{"T :: flaky", "PASS", 1}, LitResult{"T :: base-only", "PASS", 1}),
		mk("9p", "9p", 2, slow, LitResult{"T :: flaky", "FAIL", 1}),
	}, nil)
	ps := PairWithBaseline(s, "squashfs")
	if len(ps) != 1 {
		t.Fatalf("%d pairings, want 1: %+v", len(ps), ps)
	}
	p := ps[0]
	if p.Group != "9p/warm" || p.Baseline != "squashfs/warm" || p.N != 10 || p.Slower != 8 || p.Faster != 2 {
		t.Errorf("pairing %+v", p)
	}
	if !near(p.Ratio, 1.5, 1e-9) || !near(p.RatioLow, 0.5, 1e-9) || !near(p.RatioHigh, 1.5, 1e-9) || !near(p.RatioCoverage, 0.978515625, 1e-9) {
		t.Errorf("ratio %v [%v, %v] (%v), want 1.5 [0.5, 1.5] (0.978515625)", p.Ratio, p.RatioLow, p.RatioHigh, p.RatioCoverage)
	}
	if !near(p.SignP, 0.109375, 1e-9) || p.W != 36 || !near(p.WilcoxonP, 0.3583134730195723, 1e-9) {
		t.Errorf("sign p %v, W %v, Wilcoxon p %v; want 0.109375, 36, 0.35831", p.SignP, p.W, p.WilcoxonP)
	}
	if len(p.Changed) != 1 || p.Changed[0] != (OutcomeChange{"T :: flaky", "PASS", "FAIL"}) || p.OnlyOne != 1 {
		t.Errorf("changed %+v, only one side %d", p.Changed, p.OnlyOne)
	}
	rep := string(Report(s, ReportInput{Name: "paired"}))
	for _, want := range []string{"### Test by test, against squashfs", "| `9p/warm` | `squashfs/warm` | 10 | 1.500 | 0.500 – 1.500 (98%) | 2 / 8 / 0 | 0.109 | 0.358 | no difference shown",
		"T :: flaky (PASS → FAIL); 1 run on one side only"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
}
