package results

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// writeLit adds, for runs whose workload was llvm-lit, lit's pass counts per group (they must
// be the same everywhere: every method shows the same tree) and each method's slowest tests,
// averaged over its cells.
func writeLit(b *bytes.Buffer, s *Summary) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	byID := map[string]*Cell{}
	any := false
	for _, c := range s.Cells {
		byID[c.ID] = c
		any = any || c.Lit != nil
	}
	if !any {
		return
	}
	p("## lit\n\n")
	passes := map[int]bool{}
	p("| group | passed (per repetition) | other results | lit's testing time |\n|---|---|---|---|\n")
	for _, g := range s.Groups {
		var counts, other []string
		var secs []float64
		for _, id := range g.IDs {
			c := byID[id]
			if c == nil || c.Lit == nil {
				counts = append(counts, "—")
				continue
			}
			passes[c.Lit.Passed] = true
			counts = append(counts, fmt.Sprint(c.Lit.Passed))
			secs = append(secs, c.Lit.Seconds)
			for k, n := range c.Lit.Counts {
				if k != "Passed" && n > 0 {
					other = append(other, fmt.Sprintf("%s %d", k, n))
				}
			}
		}
		slices.Sort(other)
		med := "—"
		if len(secs) > 0 {
			med = FormatDuration(Describe(secs).Median)
		}
		p("| %s | %s | %s | %s |\n", mdCode(g.Group), strings.Join(counts, ", "), mdEscape(strings.Join(slices.Compact(other), "; ")), med)
	}
	if len(passes) == 1 {
		p("\nEvery cell passed the same number of tests.\n\n")
	} else {
		p("\n**The pass counts differ between cells**: the methods did not present the same tree, or tests are flaky.\n\n")
	}

	type agg struct {
		sum float64
		n   int
	}
	var methods []string
	slow := map[string]map[string]*agg{}
	for _, c := range s.Cells {
		if c.Lit == nil {
			continue
		}
		if slow[c.Method] == nil {
			slow[c.Method] = map[string]*agg{}
			methods = append(methods, c.Method)
		}
		for _, t := range c.Lit.Slowest {
			a := slow[c.Method][t.Name]
			if a == nil {
				a = &agg{}
				slow[c.Method][t.Name] = a
			}
			a.sum += t.Seconds
			a.n++
		}
	}
	p("### Slowest tests per method\n\nMean of lit's --time-tests figures over the method's cells (each cell's list is in logs/<cell>/lit-times.csv).\n\n")
	p("| method | slowest tests |\n|---|---|\n")
	for _, m := range methods {
		type row struct {
			name string
			mean float64
		}
		var rows []row
		for name, a := range slow[m] {
			rows = append(rows, row{name, a.sum / float64(a.n)})
		}
		slices.SortFunc(rows, func(x, y row) int {
			if x.mean != y.mean {
				if x.mean > y.mean {
					return -1
				}
				return 1
			}
			return strings.Compare(x.name, y.name)
		})
		var cells []string
		for _, r := range rows[:min(5, len(rows))] {
			cells = append(cells, fmt.Sprintf("%s %s", mdEscape(r.name), FormatDuration(r.mean)))
		}
		if len(cells) == 0 {
			cells = []string{"(run lit with --time-tests)"}
		}
		p("| %s | %s |\n", mdEscape(m), strings.Join(cells, "<br>"))
	}
	p("\n")
}
