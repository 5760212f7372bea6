package results

import (
	"cmp"
	"slices"
	"strings"
)

// VariantRank is one method variant of a run, ranked by the median total of its ok cells
// over every cache state and repetition.
type VariantRank struct {
	Variant string  // the cell ID without the cache state and the repetition
	Median  float64 // seconds
	OK      int
	Failed  int
}

// RankVariants ranks the method variants of cells by their median total, fastest first;
// a variant without an ok cell is left out, and ties go by name.
func RankVariants(cells []*Cell) []VariantRank {
	totals := map[string][]float64{}
	failed := map[string]int{}
	for _, c := range cells {
		g := c.Group
		if g == "" {
			g = groupOf(c.ID)
		}
		v := g
		if i := strings.LastIndex(g, "/"); i >= 0 {
			v = g[:i] // the cache state
		}
		if c.Status == StatusOK {
			totals[v] = append(totals[v], c.Total)
		} else {
			failed[v]++
		}
	}
	var out []VariantRank
	for v, ts := range totals {
		out = append(out, VariantRank{Variant: v, Median: Describe(ts).Median, OK: len(ts), Failed: failed[v]})
	}
	slices.SortFunc(out, func(a, b VariantRank) int {
		return cmp.Or(cmp.Compare(a.Median, b.Median), strings.Compare(a.Variant, b.Variant))
	})
	return out
}
