package results

import (
	"math"
	"slices"
)

// Thresholds of the statistics. They are variables only so that documentation and tests
// can name them; nothing changes them.
var (
	// CILevel is the confidence asked of the interval around the median.
	CILevel = 0.95
	// NoisyCV is the coefficient of variation above which a group is flagged as noisy.
	NoisyCV = 0.10
	// OutlierZ is the modified z-score above which a value is an outlier (Iglewicz and
	// Hoaglin, "How to Detect and Handle Outliers", ASQC 1993: |0.6745 (x - median) / MAD|
	// > 3.5; 0.6745 = 1/1.4826).
	OutlierZ = 3.5
	// OutlierMinRel is how far from the median, relative to it, a value must also be to be
	// called an outlier. With 3 repetitions the MAD is the smaller of the two gaps around
	// the median and can be tiny, so the z-score alone flags 13m08s among 13m05s and 13m05s.
	OutlierMinRel = 0.01
)

// Stats describes one quantity over the repetitions of a group. Durations are seconds.
type Stats struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	Max    float64 `json:"max"`
	// StdDev is the sample standard deviation (n-1 denominator); 0 when N < 2.
	StdDev float64 `json:"stddev"`
	// CV is StdDev/Mean; 0 when N < 2 or Mean is 0.
	CV float64 `json:"cv"`
	// CILow and CIHigh bound the median: order statistics x(j) and x(n+1-j), the narrowest
	// such pair whose distribution-free coverage reaches CILevel (see MedianCI).
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	// CICoverage is the exact coverage of [CILow, CIHigh]; below CILevel when N < 6.
	CICoverage float64 `json:"ci_coverage"`
	// MAD is the median absolute deviation from the median (unscaled).
	MAD float64 `json:"mad"`
	// Outliers are the values whose modified z-score exceeds OutlierZ (see OutlierIndexes).
	Outliers []float64 `json:"outliers,omitempty"`
}

// Describe computes the statistics of xs. It returns the zero Stats for no values.
func Describe(xs []float64) Stats {
	n := len(xs)
	if n == 0 {
		return Stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	st := Stats{N: n, Min: s[0], Max: s[n-1], Median: median(s)}
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	st.Mean = sum / float64(n)
	if n > 1 {
		ss := 0.0
		for _, x := range s {
			ss += (x - st.Mean) * (x - st.Mean)
		}
		st.StdDev = math.Sqrt(ss / float64(n-1))
		if st.Mean != 0 {
			st.CV = st.StdDev / math.Abs(st.Mean)
		}
	}
	st.CILow, st.CIHigh, st.CICoverage = MedianCI(s, CILevel)
	st.MAD = mad(s, st.Median)
	for _, i := range OutlierIndexes(xs) {
		st.Outliers = append(st.Outliers, xs[i])
	}
	return st
}

// median returns the median of sorted values: the middle one, or the mean of the two middle
// ones.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// mad is the median of |x - m|.
func mad(xs []float64, m float64) float64 {
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	slices.Sort(d)
	return median(d)
}

// MedianCI returns a distribution-free confidence interval for the median of sorted values
// and its exact coverage. The number of values below the true median is Binomial(n, 1/2), so
// [x(j), x(n+1-j)] (1-based order statistics) covers the median with probability
// 1 - 2 P(B <= j-1). MedianCI picks the largest j whose coverage is at least level. When even
// [min, max] falls short (level 0.95 needs n >= 6: n=5 gives 1 - 2/32 = 93.75%, n=3 gives
// 75%), it returns [min, max] with that smaller coverage, so the caller can say so.
func MedianCI(sorted []float64, level float64) (lo, hi, coverage float64) {
	n := len(sorted)
	if n == 0 {
		return 0, 0, 0
	}
	j := 1
	coverage = 1 - 2*binomCDF(0, n)
	for k := 2; k <= n/2; k++ {
		c := 1 - 2*binomCDF(k-1, n)
		if c < level {
			break
		}
		j, coverage = k, c
	}
	return sorted[j-1], sorted[n-j], coverage
}

// binomCDF is P(B <= k) for B ~ Binomial(n, 1/2).
func binomCDF(k, n int) float64 {
	p := 0.0
	for i := 0; i <= k && i <= n; i++ {
		p += math.Exp(lchoose(n, i) - float64(n)*math.Ln2)
	}
	return math.Min(p, 1)
}

// lchoose is log(n choose k).
func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// OutlierIndexes returns the indexes of the values of xs whose modified z-score
// |x - median| / (1.4826 MAD) exceeds OutlierZ (Iglewicz and Hoaglin 1993) and which are
// more than OutlierMinRel of the median away from it. When MAD is 0
// (more than half the values equal) the score would be infinite for every other value, so
// the scale falls back to 1.253314 times the mean absolute deviation from the median, as IBM
// SPSS does for its modified z-score; when that is 0 too, all values are equal and none is an
// outlier. Fewer than 3 values have no outliers.
func OutlierIndexes(xs []float64) []int {
	if len(xs) < 3 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := median(s)
	scale := 1.4826 * mad(s, m)
	if scale == 0 {
		sum := 0.0
		for _, x := range s {
			sum += math.Abs(x - m)
		}
		scale = 1.253314 * sum / float64(len(s))
	}
	if scale == 0 {
		return nil
	}
	var out []int
	for i, x := range xs {
		if d := math.Abs(x - m); d/scale > OutlierZ && d > OutlierMinRel*math.Abs(m) {
			out = append(out, i)
		}
	}
	return out
}

// MannWhitney is the two-sided Mann-Whitney U test (Wilcoxon rank-sum) of two samples. U is
// the number of pairs (a, b) with a > b, ties counting one half. P is exact for up to 200
// values in all (the permutation distribution of the rank sum, with mid-ranks for ties, so
// ties are handled exactly too) and the normal approximation with tie and continuity
// correction beyond that. The smallest P the exact test can give is 2/C(n1+n2, n1): 0.1
// for 3 against 3 values, 0.029 for 4 against 4.
func MannWhitney(a, b []float64) (u, p float64) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return 0, 1
	}
	type obs struct {
		x     float64
		fromA bool
	}
	all := make([]obs, 0, n1+n2)
	for _, x := range a {
		all = append(all, obs{x, true})
	}
	for _, x := range b {
		all = append(all, obs{x, false})
	}
	slices.SortStableFunc(all, func(p, q obs) int {
		switch {
		case p.x < q.x:
			return -1
		case p.x > q.x:
			return 1
		}
		return 0
	})
	// Doubled mid-ranks are integers: a tie over positions i..j-1 (0-based) has rank
	// (i+1 + j)/2, doubled i+1+j.
	n := n1 + n2
	rank2 := make([]int, n)
	tieTerm := 0.0 // sum of t^3 - t over tie groups
	for i := 0; i < n; {
		j := i + 1
		for j < n && all[j].x == all[i].x {
			j++
		}
		for k := i; k < j; k++ {
			rank2[k] = i + 1 + j
		}
		t := float64(j - i)
		tieTerm += t*t*t - t
		i = j
	}
	w2 := 0 // doubled rank sum of a
	for i, o := range all {
		if o.fromA {
			w2 += rank2[i]
		}
	}
	u = float64(w2)/2 - float64(n1*(n1+1))/2
	if n <= 200 {
		return u, exactRankSumP(rank2, n1, w2)
	}
	mu := float64(n1*n2) / 2
	sigma := math.Sqrt(float64(n1*n2) / 12 * (float64(n+1) - tieTerm/float64(n*(n-1))))
	if sigma == 0 {
		return u, 1
	}
	z := (math.Abs(u-mu) - 0.5) / sigma
	if z < 0 {
		z = 0
	}
	return u, math.Min(1, math.Erfc(z/math.Sqrt2))
}

// exactRankSumP is the two-sided p-value of the doubled rank sum w2 of n1 values drawn from
// the doubled ranks: 2 min(P(W <= w2), P(W >= w2)), counting every n1-subset equally.
func exactRankSumP(rank2 []int, n1, w2 int) float64 {
	maxSum := 0
	for _, r := range rank2 {
		maxSum += r
	}
	// ways[k][s]: subsets of k of the ranks seen so far with doubled sum s.
	ways := make([][]float64, n1+1)
	for k := range ways {
		ways[k] = make([]float64, maxSum+1)
	}
	ways[0][0] = 1
	for _, r := range rank2 {
		for k := n1; k >= 1; k-- {
			for s := maxSum; s >= r; s-- {
				ways[k][s] += ways[k-1][s-r]
			}
		}
	}
	return twoSidedP(ways[n1], w2)
}

// twoSidedP is 2 min(P(S <= w), P(S >= w)), at most 1, for a statistic S taking the value s
// in ways[s] of its equally likely outcomes.
func twoSidedP(ways []float64, w int) float64 {
	var total, low, high float64
	for s, c := range ways {
		total += c
		if s <= w {
			low += c
		}
		if s >= w {
			high += c
		}
	}
	return math.Min(1, 2*math.Min(low, high)/total)
}
