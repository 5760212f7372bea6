package results

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Summary is summary.json: every cell and the statistics of every group.
type Summary struct {
	Meta    *Meta    `json:"meta,omitempty"`
	Cells   []*Cell  `json:"cells"`
	Groups  []*Group `json:"groups"`
	Skipped []string `json:"skipped,omitempty"` // cell files that could not be read
}

// Group is the statistics of one cell group: the repetitions of one method variant in one
// cache state. Only ok cells enter the statistics.
type Group struct {
	Group   string         `json:"group"`   // the cell ID without /rN
	Variant string         `json:"variant"` // the group without the cache state
	Label   string         `json:"label"`   // the method and the parameters its variants differ in
	Method  string         `json:"method"`
	Params  map[string]any `json:"params"`
	Cache   string         `json:"cache"`
	Cells   int            `json:"cells"`
	OK      int            `json:"ok"`
	Failed  int            `json:"failed"`
	Total   Stats          `json:"total"`
	Wall    Stats          `json:"wall"`
	// Phases holds the statistics of every phase seen in an ok cell; a cell without the
	// phase counts 0 s.
	Phases map[Phase]Stats `json:"phases"`
	// Parts are the phases of the median repetition (by total): the middle one, or the mean
	// of the two middle ones, so that the TotalPhases parts add up to Total.Median.
	Parts    map[Phase]float64 `json:"median_parts"`
	Warnings []string          `json:"warnings,omitempty"`
	// IDs are the group's cells in the order they ran.
	IDs []string `json:"cell_ids"`
	// Nodes are the nodes the group's cells ran on, when they recorded it; NodesDiffer the
	// host facts (cpu, kernel, qemu, tool names) in which those nodes differ.
	Nodes       []string `json:"nodes,omitempty"`
	NodesDiffer []string `json:"nodes_differ,omitempty"`
}

// Summarize computes the groups of cells, in the order their first cell appears.
func Summarize(cells []*Cell, meta *Meta) *Summary {
	s := &Summary{Meta: meta, Cells: cells, Groups: []*Group{}}
	if s.Cells == nil {
		s.Cells = []*Cell{}
	}
	byGroup := map[string][]*Cell{}
	var order []string
	for _, c := range cells {
		g := c.Group
		if g == "" {
			g = groupOf(c.ID)
		}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], c)
	}
	for _, g := range order {
		s.Groups = append(s.Groups, summarizeGroup(g, byGroup[g]))
	}
	labelGroups(s)
	return s
}

func summarizeGroup(name string, cells []*Cell) *Group {
	first := cells[0]
	if first.Params == nil {
		first.Params = map[string]any{}
	}
	g := &Group{
		Group: name, Variant: strings.TrimSuffix(name, "/"+first.Cache), Method: first.Method,
		Params: first.Params, Cache: first.Cache, Cells: len(cells),
		Phases: map[Phase]Stats{}, Parts: map[Phase]float64{},
	}
	var ok []*Cell
	for _, c := range cells {
		g.IDs = append(g.IDs, c.ID)
		if c.Status == StatusOK {
			ok = append(ok, c)
		} else {
			g.Failed++
		}
	}
	g.OK = len(ok)
	g.Nodes, g.NodesDiffer = hostDiff(cells)
	if w := hostWarning(g.Nodes, g.NodesDiffer); w != "" {
		g.Warnings = append(g.Warnings, w)
	}
	if len(ok) == 0 {
		return g
	}
	// Repetition order, so that outlier warnings and parts do not depend on file order.
	slices.SortStableFunc(ok, func(a, b *Cell) int { return a.Repetition - b.Repetition })
	pick := func(f func(*Cell) float64) []float64 {
		xs := make([]float64, len(ok))
		for i, c := range ok {
			xs[i] = f(c)
		}
		return xs
	}
	totals := pick(func(c *Cell) float64 { return c.Total })
	g.Total = Describe(totals)
	g.Wall = Describe(pick(func(c *Cell) float64 { return c.Wall }))
	for _, p := range phaseNames(ok) {
		g.Phases[p] = Describe(pick(func(c *Cell) float64 { return c.Phases[p] }))
	}
	g.Parts = medianParts(ok)
	for _, m := range []struct {
		name string
		st   Stats
		xs   []float64
	}{{"total", g.Total, totals}, {"wall", g.Wall, pick(func(c *Cell) float64 { return c.Wall })}} {
		if m.st.CV > NoisyCV {
			g.Warnings = append(g.Warnings, fmt.Sprintf("%s: CV %s > %s (noisy)", m.name, formatPct(m.st.CV), formatPct(NoisyCV)))
		}
		for _, i := range OutlierIndexes(m.xs) {
			g.Warnings = append(g.Warnings, fmt.Sprintf("%s: %s of %s is an outlier (median %s; modified z-score > %s)",
				m.name, FormatDuration(m.xs[i]), ok[i].ID, FormatDuration(m.st.Median), formatFloat(OutlierZ)))
		}
	}
	return g
}

// phaseNames are the phases present in any of cells: PhaseNames' order first, then others
// sorted.
func phaseNames(cells []*Cell) []Phase {
	seen := map[Phase]bool{}
	for _, c := range cells {
		for p := range c.Phases {
			seen[p] = true
		}
	}
	var out []Phase
	for _, p := range PhaseNames {
		if seen[p] {
			out = append(out, p)
			delete(seen, p)
		}
	}
	return append(out, slices.Sorted(maps.Keys(seen))...)
}

// medianParts returns the phases of the median cell by total: the middle cell, or the mean
// of the two middle cells. Totals are sums of phases, so the parts add up to the median.
func medianParts(ok []*Cell) map[Phase]float64 {
	s := slices.Clone(ok)
	slices.SortStableFunc(s, func(a, b *Cell) int {
		switch {
		case a.Total < b.Total:
			return -1
		case a.Total > b.Total:
			return 1
		}
		return 0
	})
	n := len(s)
	mid := []*Cell{s[n/2]}
	if n%2 == 0 {
		mid = []*Cell{s[n/2-1], s[n/2]}
	}
	parts := map[Phase]float64{}
	for _, c := range mid {
		for p, v := range c.Phases {
			parts[p] += v / float64(len(mid))
		}
	}
	return parts
}

// labelGroups names each group by its method and the parameters in which that method's
// variants differ, written as in the cell ID: "9p msize=65536".
func labelGroups(s *Summary) {
	swept := sweptParams(s)
	for _, g := range s.Groups {
		g.Label = g.Method
		for _, k := range swept[g.Method] {
			g.Label += " " + k + "=" + paramText(g, k)
		}
	}
}

// idParams parses the parameters written in a variant ID (method.k=v.k2=v2) into their
// values as written, and their order.
func idParams(variant string, params map[string]any) (map[string]string, []string) {
	type mark struct {
		key      string
		at, size int
	}
	var marks []mark
	for k := range params {
		m := "." + k + "="
		if i := strings.Index(variant, m); i >= 0 {
			marks = append(marks, mark{k, i, len(m)})
		}
	}
	sort.Slice(marks, func(i, j int) bool { return marks[i].at < marks[j].at })
	vals := map[string]string{}
	var order []string
	for i, m := range marks {
		end := len(variant)
		if i+1 < len(marks) {
			end = marks[i+1].at
		}
		vals[m.key] = variant[m.at+m.size : end]
		order = append(order, m.key)
	}
	return vals, order
}

// paramOrder is the group's parameters: those written in its ID in that order, then the
// others by name.
func paramOrder(g *Group) []string {
	_, order := idParams(g.Variant, g.Params)
	for _, k := range slices.Sorted(maps.Keys(g.Params)) {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	return order
}

// paramText is a parameter's value as the cell ID writes it, or formatted from the value.
func paramText(g *Group, key string) string {
	vals, _ := idParams(g.Variant, g.Params)
	if v, ok := vals[key]; ok {
		return v
	}
	if v, ok := g.Params[key]; ok {
		return formatParam(v)
	}
	return ""
}

// Caches returns the cache states of the groups in order of appearance.
func (s *Summary) Caches() []string {
	var out []string
	for _, g := range s.Groups {
		if !slices.Contains(out, g.Cache) {
			out = append(out, g.Cache)
		}
	}
	return out
}

// Variants returns the groups' variants in order of appearance, each as its first group.
func (s *Summary) Variants() []*Group {
	var out []*Group
	seen := map[string]bool{}
	for _, g := range s.Groups {
		if !seen[g.Variant] {
			seen[g.Variant] = true
			out = append(out, g)
		}
	}
	return out
}

// Find returns the group of variant in cache state cache, or nil.
func (s *Summary) Find(variant, cache string) *Group {
	for _, g := range s.Groups {
		if g.Variant == variant && g.Cache == cache {
			return g
		}
	}
	return nil
}
