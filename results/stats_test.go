package results

import (
	"math"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want Stats
	}{
		{
			// Sorted 2 4 4 4 5 5 7 9: median (4+5)/2 = 4.5, mean 40/8 = 5, squared deviations
			// 9+1+1+1+0+0+4+16 = 32, sample variance 32/7 = 4.5714, stddev 2.13809, CV 0.427618.
			// |x-4.5| = 2.5 .5 .5 .5 .5 .5 2.5 4.5 -> sorted .5 .5 .5 .5 .5 2.5 2.5 4.5, MAD 0.5.
			// n=8: j=1 covers 1 - 2/256 = 0.9921875; j=2 covers 1 - 2*9/256 = 0.9296875 < 0.95,
			// so the CI is [x(1), x(8)] = [2, 9]. Outliers: |9-4.5|/(1.4826*0.5) = 6.07 > 3.5
			// and 4.5 > 1% of 4.5, so 9 is one; 2 scores 3.37, not one.
			name: "textbook eight", xs: []float64{9, 2, 4, 4, 5, 4, 5, 7},
			want: Stats{N: 8, Min: 2, Median: 4.5, Mean: 5, Max: 9, StdDev: 2.138089935, CV: 0.427617987,
				CILow: 2, CIHigh: 9, CICoverage: 0.9921875, MAD: 0.5, Outliers: []float64{9}},
		},
		{
			// Three repetitions: median 12, mean 12, stddev sqrt((1+0+1)/2) = 1, CV 1/12.
			// CI [min, max] covers 1 - 2/8 = 0.75. MAD: |x-12| = 1 0 1 -> 1. No outlier.
			name: "three", xs: []float64{13, 11, 12},
			want: Stats{N: 3, Min: 11, Median: 12, Mean: 12, Max: 13, StdDev: 1, CV: 1.0 / 12,
				CILow: 11, CIHigh: 13, CICoverage: 0.75, MAD: 1},
		},
		{
			// One value: no spread, and [x, x] covers the median with probability 1 - 2*1/2 = 0.
			name: "one", xs: []float64{7.5},
			want: Stats{N: 1, Min: 7.5, Median: 7.5, Mean: 7.5, Max: 7.5, CILow: 7.5, CIHigh: 7.5},
		},
		{name: "none", xs: nil, want: Stats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Describe(tc.xs)
			w := tc.want
			const tol = 1e-8
			if got.N != w.N || !near(got.Min, w.Min, tol) || !near(got.Median, w.Median, tol) || !near(got.Mean, w.Mean, tol) ||
				!near(got.Max, w.Max, tol) || !near(got.StdDev, w.StdDev, tol) || !near(got.CV, w.CV, tol) ||
				!near(got.CILow, w.CILow, tol) || !near(got.CIHigh, w.CIHigh, tol) || !near(got.CICoverage, w.CICoverage, tol) ||
				!near(got.MAD, w.MAD, tol) || !slices.Equal(got.Outliers, w.Outliers) {
				t.Errorf("Describe(%v) =\n%+v, want\n%+v", tc.xs, got, w)
			}
		})
	}
}

// TestMedianCI checks the order-statistic interval against coverages computed by hand:
// [x(j), x(n+1-j)] covers the median with probability 1 - 2 * sum_{i<j} C(n,i) / 2^n.
func TestMedianCI(t *testing.T) {
	seq := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i + 1) // x(k) = k, so the bounds are the ranks
		}
		return xs
	}
	for _, tc := range []struct {
		n          int
		lo, hi     float64
		coverage   float64
		derivation string
	}{
		{1, 1, 1, 0, "1 - 2*(1/2)"},
		{2, 1, 2, 0.5, "1 - 2*(1/4)"},
		{3, 1, 3, 0.75, "1 - 2*(1/8): no pair reaches 95%, [min, max] it is"},
		{5, 1, 5, 0.9375, "1 - 2*(1/32) = 30/32, still short of 95%"},
		{6, 1, 6, 0.96875, "1 - 2/64; j=2 would cover 1 - 2*7/64 = 0.78"},
		{10, 2, 9, 0.978515625, "1 - 2*(1+10)/1024; j=3: 1 - 2*56/1024 = 0.89"},
		{20, 6, 15, 0.958610535, "1 - 2*(1+20+190+1140+4845+15504)/2^20 = 1 - 43400/1048576; j=7: 0.885"},
	} {
		lo, hi, cov := MedianCI(seq(tc.n), 0.95)
		if lo != tc.lo || hi != tc.hi || !near(cov, tc.coverage, 1e-9) {
			t.Errorf("n=%d: [%v, %v] coverage %.9f, want [%v, %v] %.9f (%s)", tc.n, lo, hi, cov, tc.lo, tc.hi, tc.coverage, tc.derivation)
		}
	}
}

func TestOutlierIndexes(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want []int
	}{
		// Median 12, |x-12| = 2 1 0 1 28 -> MAD 1; 40 scores 28/1.4826 = 18.9.
		{"one far", []float64{10, 11, 12, 13, 40}, []int{4}},
		// MAD 0 (three equal values): the fallback scale is 1.253314 * mean |x-10| =
		// 1.253314 * 40/5 = 10.03, and 50 scores 40/10.03 = 3.99 > 3.5.
		{"mad zero, far", []float64{10, 10, 50, 10, 10}, []int{2}},
		// MAD 0 again: 1.253314 * 2/3 = 0.836, 12 scores 2/0.836 = 2.39: not an outlier.
		{"mad zero, near", []float64{10, 10, 12}, nil},
		// Median 785, MAD 0.5: 788 scores 3/0.7413 = 4.05 but is only 0.38% from the median.
		{"below the relative floor", []float64{785, 785.5, 788}, nil},
		// Median 696, |x-696| = 2 94 0 -> MAD 2; 790 scores 94/2.9652 = 31.7 and is 13.5% away.
		{"three with one slow", []float64{694, 790, 696}, []int{1}},
		{"all equal", []float64{5, 5, 5, 5}, nil},
		{"two values", []float64{1, 100}, nil},
	} {
		if got := OutlierIndexes(tc.xs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: OutlierIndexes(%v) = %v, want %v", tc.name, tc.xs, got, tc.want)
		}
	}
}

func TestMannWhitney(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		u, p float64
		why  string
	}{
		{"3v3 separated", []float64{1, 2, 3}, []float64{4, 5, 6}, 0, 0.1,
			"U=0; 1 of C(6,3)=20 splits is as extreme on each side: 2/20"},
		{"3v3 reversed", []float64{4, 5, 6}, []float64{1, 2, 3}, 9, 0.1, "U=9, symmetric"},
		{"4v4 separated", []float64{1, 2, 3, 4}, []float64{5, 6, 7, 8}, 0, 2.0 / 70, "2/C(8,4)"},
		{"3v3 one swap", []float64{1, 2, 4}, []float64{3, 5, 6}, 1, 0.2,
			"U=1 (4>3); rank sums 6 and 7 of a: 2 of 20 splits at or below: 2*2/20"},
		{"3v5 separated", []float64{10, 11, 12}, []float64{20, 21, 22, 23, 24}, 0, 2.0 / 56, "2/C(8,3)"},
		{"ties", []float64{1, 2, 2}, []float64{2, 3, 4}, 1, 0.3,
			"mid-ranks 1 3 3 3 5 6: a's doubled rank sum 2+6+6=14, U=7-6=1 (two half pairs); of the " +
				"20 3-subsets of doubled ranks {2,6,6,6,10,12} only 2+6+6 (three ways) is <= 14: 2*3/20"},
		{"identical", []float64{5, 5, 5}, []float64{5, 5, 5}, 4.5, 1, "every split has the same sum"},
	} {
		u, p := MannWhitney(tc.a, tc.b)
		if !near(u, tc.u, 1e-12) || !near(p, tc.p, 1e-12) {
			t.Errorf("%s: U=%v p=%v, want U=%v p=%v (%s)", tc.name, u, p, tc.u, tc.p, tc.why)
		}
	}
	// The normal approximation beyond 200 values: two sequences of 150, b = a + 100.5 (no
	// ties). U = pairs with a_i > a_j + 100.5, i.e. i - j >= 101: sum_{i=101}^{149} (i-100)
	// = 49*50/2 = 1225; mu = 11250, sigma = sqrt(150*150*301/12) = 751.25;
	// z = (10025 - 0.5)/751.25 = 13.3, so p = erfc(13.3/sqrt 2), about 1e-40.
	var a, b []float64
	for i := range 150 {
		a = append(a, float64(i))
		b = append(b, float64(i)+100.5)
	}
	if u, p := MannWhitney(a, b); u != 1225 || p > 1e-30 {
		t.Errorf("normal approximation: U=%v p=%v, want U=1225 and p < 1e-30", u, p)
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		sec  float64
		want string
	}{
		{693, "11m33s"}, {785, "13m05s"}, {17, "17s"}, {17.4, "17s"}, {59.6, "1m00s"}, {0.4, "0.4s"},
		{3.06, "3.1s"}, {9.96, "10s"}, {0.04, "0.04s"}, {0.001, "0s"}, {0, "0s"}, {3723, "1h02m03s"},
		{640, "10m40s"}, {-5, "-5.0s"}, {math.NaN(), "?"},
	} {
		if got := FormatDuration(tc.sec); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.sec, got, tc.want)
		}
	}
}
