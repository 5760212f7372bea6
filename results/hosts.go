package results

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The shards of one run may run on different machines; every cell records its node
// (Cell.Host). The report says when the cells of one group ran on nodes that differ, and
// `report --by-host` splits each group's statistics by node.

// nodeOf is the name of the node a cell ran on, "" when it did not record one.
func nodeOf(c *Cell) string {
	if c.Host == nil {
		return ""
	}
	return c.Host.Node
}

// hostFields are what a CellHost says, by name: cpu, kernel, qemu and each tool.
func hostFields(h *CellHost) map[string]string {
	f := map[string]string{"cpu": h.CPU, "kernel": h.Kernel, "qemu": h.QEMU}
	for name, v := range h.Tools {
		f[name] = v
	}
	return f
}

// hostDiff returns the nodes the cells ran on (sorted; cells without a host are left out)
// and the fields, of hostFields, in which the cells' hosts differ: cpu, kernel, qemu first,
// then tools by name.
func hostDiff(cells []*Cell) (nodes, differ []string) {
	var hosts []*CellHost
	for _, c := range cells {
		if c.Host == nil {
			continue
		}
		hosts = append(hosts, c.Host)
		if !slices.Contains(nodes, c.Host.Node) {
			nodes = append(nodes, c.Host.Node)
		}
	}
	slices.Sort(nodes)
	if len(hosts) < 2 {
		return nodes, nil
	}
	seen := map[string]map[string]bool{}
	for _, h := range hosts {
		for k, v := range hostFields(h) {
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			seen[k][v] = true
		}
	}
	// A tool one host lacks entirely differs too.
	for k := range seen {
		for _, h := range hosts {
			if _, ok := hostFields(h)[k]; !ok {
				seen[k][""] = true
			}
		}
	}
	for _, k := range []string{"cpu", "kernel", "qemu"} {
		if len(seen[k]) > 1 {
			differ = append(differ, k)
		}
		delete(seen, k)
	}
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		if len(seen[k]) > 1 {
			differ = append(differ, k)
		}
	}
	return nodes, differ
}

// hostWarning is the group warning for cells that ran on nodes that differ, or "".
func hostWarning(nodes, differ []string) string {
	if len(differ) == 0 {
		return ""
	}
	return fmt.Sprintf("ran on nodes that differ in %s (%s); see report --by-host", strings.Join(differ, ", "), strings.Join(nodes, ", "))
}

// writeNodes writes the nodes the cells ran on, with what each is and which cells ran there,
// when the run ran on more than one node or byHost asks for it.
func writeNodes(b *bytes.Buffer, s *Summary, byHost bool) {
	byNode := map[string][]*Cell{}
	for _, c := range s.Cells {
		if c.Host != nil {
			byNode[c.Host.Node] = append(byNode[c.Host.Node], c)
		}
	}
	if len(byNode) == 0 || (len(byNode) == 1 && !byHost) {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	nodes := slices.Sorted(maps.Keys(byNode))
	// Tools that differ between the nodes get a column each.
	var all []*Cell
	for _, n := range nodes {
		all = append(all, byNode[n][0])
	}
	_, differ := hostDiff(all)
	var toolCols []string
	for _, k := range differ {
		if k != "cpu" && k != "kernel" && k != "qemu" {
			toolCols = append(toolCols, k)
		}
	}
	p("## Nodes\n\n")
	if len(differ) > 0 {
		p("The cells ran on %d nodes that differ in %s.\n\n", len(nodes), strings.Join(differ, ", "))
	} else {
		p("The cells ran on %d nodes alike in CPU model, kernel, QEMU and tool versions.\n\n", len(nodes))
	}
	p("| node | cells | CPU | kernel | QEMU |")
	for _, k := range toolCols {
		p(" %s |", mdEscape(k))
	}
	p("\n|---|---|---|---|---|%s\n", strings.Repeat("---|", len(toolCols)))
	for _, n := range nodes {
		h := byNode[n][0].Host
		p("| %s | %d | %s | %s | %s |", mdEscape(n), len(byNode[n]), mdEscape(h.CPU), mdEscape(h.Kernel), mdEscape(h.QEMU))
		for _, k := range toolCols {
			p(" %s |", mdEscape(h.Tools[k]))
		}
		p("\n")
	}
	p("\n")
	for _, n := range nodes {
		ids := make([]string, len(byNode[n]))
		for i, c := range byNode[n] {
			ids[i] = mdCode(c.ID)
		}
		p("- %s: %s\n", mdEscape(n), strings.Join(ids, ", "))
	}
	p("\n")
}

// writeByHost writes each group's statistics split by the node its cells ran on.
func writeByHost(b *bytes.Buffer, s *Summary) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Statistics by node\n\n")
	p("Totals of the ok repetitions of each group on each node.\n\n")
	p("| group | node | ok | median | min | max | median wall |\n")
	p("|---|---|---|---|---|---|---|\n")
	byGroup := map[string][]*Cell{}
	for _, c := range s.Cells {
		g := c.Group
		if g == "" {
			g = groupOf(c.ID)
		}
		byGroup[g] = append(byGroup[g], c)
	}
	for _, g := range s.Groups {
		byNode := map[string][]*Cell{}
		for _, c := range byGroup[g.Group] {
			byNode[nodeOf(c)] = append(byNode[nodeOf(c)], c)
		}
		for _, n := range slices.Sorted(maps.Keys(byNode)) {
			cells := byNode[n]
			var totals, walls []float64
			for _, c := range cells {
				if c.Status == StatusOK {
					totals = append(totals, c.Total)
					walls = append(walls, c.Wall)
				}
			}
			name := n
			if name == "" {
				name = "(not recorded)"
			}
			if len(totals) == 0 {
				p("| %s | %s | 0/%d | | | | |\n", mdCode(g.Group), mdEscape(name), len(cells))
				continue
			}
			t, w := Describe(totals), Describe(walls)
			p("| %s | %s | %d/%d | %s | %s | %s | %s |\n", mdCode(g.Group), mdEscape(name), len(totals), len(cells),
				FormatDuration(t.Median), FormatDuration(t.Min), FormatDuration(t.Max), FormatDuration(w.Median))
		}
	}
	p("\n")
}
