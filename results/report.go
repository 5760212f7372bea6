package results

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// ReportInput is what the report shows besides the summary.
type ReportInput struct {
	Name      string     // the run's name, e.g. its directory's base name
	Reference *Reference // nil for no reference section
	ByHost    bool       // split the statistics by the node each cell ran on
	// Baseline is the method the others are paired with test by test and divided by in the
	// comparison with the reference; "" is DefaultBaseline.
	Baseline string
}

// Report renders report.md: the seed-style table of median totals, the sweeps, the
// statistics of every group, the failed cells, the comparison with the reference and the
// environment.
func Report(s *Summary, in ReportInput) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	title := in.Name
	if s.Meta != nil && s.Meta.Spec != "" {
		title = s.Meta.Spec
	}
	p("# vmfsbench report: %s\n\n", mdEscape(title))
	ok, failed, hostErr := 0, 0, 0
	reps := 0
	for _, c := range s.Cells {
		switch c.Status {
		case StatusOK:
			ok++
		case StatusError:
			hostErr++
			failed++
		default:
			failed++
		}
		reps = max(reps, c.Repetition)
	}
	counts := fmt.Sprintf("%d ok, %d failed", ok, failed)
	if hostErr > 0 {
		counts = fmt.Sprintf("%d ok, %d failed (%d of them by the host: status error, rerun by --resume)", ok, failed, hostErr)
	}
	p("Run `%s`: %d cells (%s) in %d groups, %s", in.Name, len(s.Cells), counts, len(s.Groups), plural(reps, "repetition"))
	if s.Meta != nil {
		if s.Meta.Accel != "" {
			p(", accel %s", s.Meta.Accel)
		}
		if !s.Meta.Start.IsZero() {
			p(", started %s", s.Meta.Start.UTC().Format("2006-01-02 15:04:05 MST"))
			if !s.Meta.End.IsZero() {
				p(", took %s", FormatDuration(s.Meta.End.Sub(s.Meta.Start).Round(time.Second).Seconds()))
			}
		}
	}
	p(".\n\n")
	if s.Meta != nil {
		for _, c := range s.Meta.TreeChanges {
			p("**The tree changed during the run** and a resume went on with it (--accept-tree-change, %s): %d paths, %s. The cells before measured the tree of fingerprint %s, those after that of %s (each cell records its own).\n\n",
				c.Time.UTC().Format(time.RFC3339), c.Paths, mdEscape(c.Brief), mdCode(short(c.From)), mdCode(short(c.To)))
		}
	}
	p("![median time per method and cache state](chart.svg)\n\n")

	caches := s.Caches()
	p("## Results\n\n")
	p("Median total (%s) over the ok repetitions, with its non-zero parts: those of the median repetition, so they add up.\n\n",
		joinPhases(TotalPhases, " + "))
	p("| method |")
	for _, c := range caches {
		p(" %s cache |", mdEscape(c))
	}
	p("\n|---|")
	p("%s\n", strings.Repeat("---|", len(caches)))
	for _, v := range s.Variants() {
		p("| %s |", mdEscape(v.Label))
		for _, c := range caches {
			p(" %s |", resultCell(s.Find(v.Variant, c)))
		}
		p("\n")
	}
	p("\n")

	writeSweeps(&b, s)

	p("## Statistics\n\n")
	p("Totals of the ok repetitions of each group. The interval is distribution-free: order statistics x(j) and x(n+1-j) covering the median with the probability shown (binomial, p = 1/2); at least %s needs 6 repetitions, so below that it is [min, max] and covers 1 - 2^(1-n) (75%% for 3, 94%% for 5). Outliers: |x - median| / (1.4826 MAD) > %s (Iglewicz and Hoaglin). Noisy: CV > %s.\n\n",
		formatPct(CILevel), formatFloat(OutlierZ), formatPct(NoisyCV))
	p("| group | ok | median | CI of the median | mean | stddev | CV | min | max | median wall | notes |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range s.Groups {
		t := g.Total
		if g.OK == 0 {
			p("| %s | 0/%d | | | | | | | | | all failed |\n", mdCode(g.Group), g.Cells)
			continue
		}
		ci, sd, cv := "—", "—", "—"
		if t.N >= 2 {
			ci = fmt.Sprintf("%s – %s (%s)", FormatDuration(t.CILow), FormatDuration(t.CIHigh), formatPct(t.CICoverage))
			sd, cv = FormatDuration(t.StdDev), formatPct(t.CV)
		}
		p("| %s | %d/%d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCode(g.Group), g.OK, g.Cells,
			FormatDuration(t.Median), ci, FormatDuration(t.Mean), sd, cv, FormatDuration(t.Min), FormatDuration(t.Max),
			FormatDuration(g.Wall.Median), mdEscape(strings.Join(g.Warnings, "; ")))
	}
	p("\n")
	writeNodes(&b, s, in.ByHost)
	if in.ByHost {
		writeByHost(&b, s)
	}
	writePhaseTable(&b, s)
	writeMemory(&b, s)
	writeCPU(&b, s)
	writeLit(&b, s)
	writePaired(&b, s, in.baseline())

	if failed > 0 {
		p("## Failed cells\n\n")
		for _, c := range s.Cells {
			if c.Status != StatusOK {
				p("- %s: %s\n", mdCode(c.ID), mdEscape(strings.ReplaceAll(strings.TrimSpace(c.Error), "\n", " ")))
			}
		}
		p("\n")
	}
	if len(s.Skipped) > 0 {
		p("## Unreadable cell files\n\n")
		for _, sk := range s.Skipped {
			p("- %s\n", mdEscape(sk))
		}
		p("\n")
	}
	if in.Reference != nil {
		writeReference(&b, s, in.Reference, in.baseline())
	}
	if s.Meta != nil {
		writeEnvironment(&b, s.Meta)
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// resultCell is a group's entry in a seed-style table: "11m33s (17s build, 11m16s workload)".
func resultCell(g *Group) string {
	if g == nil {
		return "—"
	}
	if g.OK == 0 {
		return fmt.Sprintf("failed (%d of %d)", g.Failed, g.Cells)
	}
	out := FormatDuration(g.Total.Median)
	var parts []string
	for _, p := range TotalPhases {
		if d := FormatDuration(g.Parts[p]); d != "0s" {
			parts = append(parts, d+" "+string(p))
		}
	}
	if len(parts) > 0 {
		out += " (" + strings.Join(parts, ", ") + ")"
	}
	if g.Failed > 0 {
		out += fmt.Sprintf(" [%d of %d failed]", g.Failed, g.Cells)
	}
	if len(g.NodesDiffer) > 0 {
		out += " [nodes differ: " + strings.Join(g.NodesDiffer, ", ") + "]"
	}
	return out
}

// sweptParams returns, per method, the parameters in which its variants differ.
func sweptParams(s *Summary) map[string][]string {
	byMethod := map[string][]*Group{}
	for _, v := range s.Variants() {
		byMethod[v.Method] = append(byMethod[v.Method], v)
	}
	out := map[string][]string{}
	for m, vs := range byMethod {
		if len(vs) < 2 {
			continue
		}
		for _, k := range paramOrder(vs[0]) {
			for _, v := range vs[1:] {
				if paramText(v, k) != paramText(vs[0], k) {
					out[m] = append(out[m], k)
					break
				}
			}
		}
	}
	return out
}

// writeSweeps writes one table per swept method: over its one swept parameter (rows) and the
// cache states (columns), or, with several, one table per cache state with the last swept
// parameter as columns.
func writeSweeps(b *bytes.Buffer, s *Summary) {
	swept := sweptParams(s)
	if len(swept) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Sweeps\n\n")
	var methods []string
	for _, v := range s.Variants() {
		if len(swept[v.Method]) > 0 && !slices.Contains(methods, v.Method) {
			methods = append(methods, v.Method)
		}
	}
	for _, m := range methods {
		keys := swept[m]
		var vs []*Group
		for _, v := range s.Variants() {
			if v.Method == m {
				vs = append(vs, v)
			}
		}
		p("### %s: %s\n\n", mdEscape(m), mdEscape(strings.Join(keys, " x ")))
		for _, k := range keys {
			p("![%s: median total against %s](%s)\n", mdEscape(m), mdEscape(k), sweepFile(m, k))
		}
		p("\n")
		if len(keys) == 1 {
			k := keys[0]
			p("| %s |", mdEscape(k))
			for _, c := range s.Caches() {
				p(" %s cache |", mdEscape(c))
			}
			p("\n|---|%s\n", strings.Repeat("---|", len(s.Caches())))
			for _, val := range sweepValues(vs, k) {
				p("| %s |", mdEscape(val))
				for _, c := range s.Caches() {
					p(" %s |", resultCell(findVariant(s, vs, map[string]string{k: val}, c)))
				}
				p("\n")
			}
			p("\n")
			continue
		}
		rowKeys, colKey := keys[:len(keys)-1], keys[len(keys)-1]
		cols := sweepValues(vs, colKey)
		var rows []map[string]string
		seen := map[string]bool{}
		for _, v := range vs {
			r := map[string]string{}
			var id []string
			for _, k := range rowKeys {
				r[k] = paramText(v, k)
				id = append(id, k+"="+r[k])
			}
			if !seen[strings.Join(id, " ")] {
				seen[strings.Join(id, " ")] = true
				rows = append(rows, r)
			}
		}
		sortRows(rows, vs, rowKeys)
		for _, c := range s.Caches() {
			p("%s cache:\n\n| %s \\ %s |", mdEscape(c), mdEscape(strings.Join(rowKeys, ", ")), mdEscape(colKey))
			for _, col := range cols {
				p(" %s |", mdEscape(col))
			}
			p("\n|---|%s\n", strings.Repeat("---|", len(cols)))
			for _, r := range rows {
				var label []string
				for _, k := range rowKeys {
					label = append(label, r[k])
				}
				p("| %s |", mdEscape(strings.Join(label, ", ")))
				for _, col := range cols {
					want := maps.Clone(r)
					want[colKey] = col
					p(" %s |", resultCell(findVariant(s, vs, want, c)))
				}
				p("\n")
			}
			p("\n")
		}
	}
}

// sweepValues are the values of parameter k among the variants: numeric order when all are
// numbers, else order of appearance.
func sweepValues(vs []*Group, k string) []string {
	var out []string
	var nums []float64
	numeric := true
	for _, v := range vs {
		t := paramText(v, k)
		if slices.Contains(out, t) {
			continue
		}
		out = append(out, t)
		f, ok := v.Params[k].(float64)
		if !ok {
			if i, isInt := v.Params[k].(int); isInt {
				f, ok = float64(i), true
			}
		}
		numeric = numeric && ok
		nums = append(nums, f)
	}
	if numeric {
		idx := make([]int, len(out))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case nums[a] < nums[b]:
				return -1
			case nums[a] > nums[b]:
				return 1
			}
			return 0
		})
		sorted := make([]string, len(out))
		for i, j := range idx {
			sorted[i] = out[j]
		}
		return sorted
	}
	return out
}

// sortRows orders sweep rows by their parameters, each in sweepValues order.
func sortRows(rows []map[string]string, vs []*Group, keys []string) {
	pos := map[string]map[string]int{}
	for _, k := range keys {
		pos[k] = map[string]int{}
		for i, v := range sweepValues(vs, k) {
			pos[k][v] = i
		}
	}
	slices.SortStableFunc(rows, func(a, b map[string]string) int {
		for _, k := range keys {
			if d := pos[k][a[k]] - pos[k][b[k]]; d != 0 {
				return d
			}
		}
		return 0
	})
}

// findVariant is the group of the variant among vs whose parameters have the wanted values,
// in cache state cache.
func findVariant(s *Summary, vs []*Group, want map[string]string, cache string) *Group {
	for _, v := range vs {
		match := true
		for k, val := range want {
			if paramText(v, k) != val {
				match = false
				break
			}
		}
		if match {
			if g := s.Find(v.Variant, cache); g != nil {
				return g
			}
		}
	}
	return nil
}

// writePhaseTable gives the median of every phase of every group, including those outside
// the total (boot, mount, teardown).
func writePhaseTable(b *bytes.Buffer, s *Summary) {
	var phases []Phase
	for _, p := range PhaseNames {
		for _, g := range s.Groups {
			if st, ok := g.Phases[p]; ok && st.N > 0 && !slices.Contains(phases, p) {
				phases = append(phases, p)
			}
		}
	}
	if len(phases) == 0 {
		return
	}
	fmt.Fprintf(b, "Median of every phase (wall clock on the host; total = %s):\n\n| group |", joinPhases(TotalPhases, " + "))
	for _, p := range phases {
		fmt.Fprintf(b, " %s |", p)
	}
	fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---|", len(phases)))
	for _, g := range s.Groups {
		if g.OK == 0 {
			continue
		}
		fmt.Fprintf(b, "| %s |", mdCode(g.Group))
		for _, p := range phases {
			if st := g.Phases[p]; st.Max > 0 {
				fmt.Fprintf(b, " %s |", FormatDuration(st.Median))
			} else {
				fmt.Fprint(b, " |")
			}
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintln(b)
}

// baseline is the report's baseline method.
func (in ReportInput) baseline() string {
	if in.Baseline == "" {
		return DefaultBaseline
	}
	return in.Baseline
}

func writeReference(b *bytes.Buffer, s *Summary, ref *Reference, baseline string) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Reference: %s\n\n", mdEscape(filepath.Base(ref.Path)))
	tables := CompareReference(s, ref, baseline)
	if len(tables) == 0 {
		p("No cache state of this run (%s) is in the reference.\n\n", mdEscape(strings.Join(s.Caches(), ", ")))
		return
	}
	p("Median totals of this run next to the reference's totals. Ratios are to the fastest method ranked on both sides; a method the run swept is represented by its fastest variant. "+
		"The columns \"vs %[1]s\" divide each total by %[1]s's in the same cache state: this run's with its interval and how it was computed (per-test: the workload scaled by the median per-test ratio to %[1]s and its 95%% interval, build and transfer from the repetitions; repetitions: the totals' intervals of the medians alone), the reference's, and whether the reference's lies within ours.\n\n![ratios to %[1]s, this run and the reference](%[2]s)\n\n", mdEscape(baseline), CompareChartFile)
	for _, t := range tables {
		writeRankTable(b, t)
	}
}

func writeRankTable(b *bytes.Buffer, t RankTable) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### %s\n\n", mdEscape(t.Title))
	p("| method | this run | ratio | rank | reference | ratio | rank | vs %[1]s (interval) | reference vs %[1]s | agree | note |\n|---|---|---|---|---|---|---|---|---|---|---|\n", mdEscape(t.Baseline))
	for _, r := range t.Rows {
		f := r.fields(t)
		for i := range f {
			f[i] = mdEscape(f[i])
		}
		p("| %s |\n", strings.Join(f, " | "))
	}
	p("\n%s.\n\n", mdEscape(t.verdict()))
}

// fields are the row's columns as text: method, run, ratio, rank, reference, ratio, rank,
// ratio to the baseline with its interval, the reference's, agreement, note.
func (r RankRow) fields(t RankTable) []string {
	name := r.Method
	if t.Title == allCaches {
		name += " " + r.Cache
	}
	if r.Label != "" {
		name += " (" + r.Label + ")"
	}
	dur := func(p *float64) string {
		if p == nil {
			return "—"
		}
		return FormatDuration(*p)
	}
	ratio := func(x float64, rank int) string {
		if rank == 0 {
			return ""
		}
		return fmt.Sprintf("%.2f", x)
	}
	rank := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprint(n)
	}
	base, refBase, agree := "", "", ""
	if b := r.Base; b != nil {
		base = fmt.Sprintf("%.2f [%.2f–%.2f] %s", b.Estimate, b.Low, b.High, b.How)
		if b.How == "per-test" {
			base += fmt.Sprintf(" (measured %.2f)", b.Measured)
		}
	}
	if r.RefBase > 0 {
		refBase = fmt.Sprintf("%.2f", r.RefBase)
	}
	if r.Agree != nil {
		agree = map[bool]string{true: "yes", false: "no"}[*r.Agree]
	}
	return []string{name, dur(r.Run), ratio(r.RunRatio, r.RunRank), rank(r.RunRank),
		dur(r.Ref), ratio(r.RefRatio, r.RefRank), rank(r.RefRank), base, refBase, agree, r.RefNote}
}

// verdict says whether the run ranks the methods as the reference does.
func (t RankTable) verdict() string {
	switch {
	case len(t.RunOrder) < 2:
		return "Fewer than two methods have a total on both sides: nothing to rank"
	case t.Same:
		return "Same order as the reference: " + strings.Join(t.RunOrder, " < ")
	}
	return "Order differs. This run: " + strings.Join(t.RunOrder, " < ") + "; reference: " + strings.Join(t.RefOrder, " < ")
}

// WriteRankText writes rank tables as aligned text, for `vmfsbench compare`.
func WriteRankText(w io.Writer, tables []RankTable) error {
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s:\n", t.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "method\tthis run\tratio\trank\treference\tratio\trank\tvs %[1]s (interval)\treference vs %[1]s\tagree\tnote\n", t.Baseline)
		for _, r := range t.Rows {
			fmt.Fprintln(tw, strings.Join(r.fields(t), "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s.\n", t.verdict()); err != nil {
			return err
		}
	}
	return nil
}

// WriteChangesText writes a run-to-run comparison as aligned text, for `vmfsbench compare`;
// nameA and nameB name the runs.
func WriteChangesText(w io.Writer, changes []Change, onlyA, onlyB []string, nameA, nameB string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tA median\tB median\tchange\tn A\tn B\tbeyond noise")
	median := func(st Stats) string {
		if st.N == 0 {
			return "—"
		}
		return FormatDuration(st.Median)
	}
	for _, c := range changes {
		change := "—"
		if c.A.N > 0 && c.B.N > 0 {
			change = fmt.Sprintf("%+.1f%%", c.Change*100)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", c.Group, median(c.A), median(c.B), change, c.A.N, c.B.N, c.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "A = %s, B = %s\n", nameA, nameB)
	for _, g := range onlyA {
		fmt.Fprintf(w, "only in A: %s\n", g)
	}
	for _, g := range onlyB {
		if _, err := fmt.Fprintf(w, "only in B: %s\n", g); err != nil {
			return err
		}
	}
	return nil
}

func writeEnvironment(b *bytes.Buffer, m *Meta) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Environment\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			p("| %s | %s |\n", k, mdEscape(v))
		}
	}
	row("host", m.Host.Name)
	row("host CPU", fmt.Sprintf("%s, %d logical CPUs", m.Host.CPU, m.Host.Cores))
	if m.Host.MemoryBytes > 0 {
		row("host memory", fmt.Sprintf("%.1f GiB", float64(m.Host.MemoryBytes)/(1<<30)))
	}
	row("host kernel", m.Host.Kernel)
	row("host OS (the CI lane)", m.Host.OS)
	for _, name := range slices.Sorted(maps.Keys(m.Tools)) {
		row(name, m.Tools[name])
	}
	accel := m.Accel
	if m.AccelReason != "" {
		accel += " (" + m.AccelReason + ")"
	}
	row("accelerator", accel)
	row("guest", strings.TrimSpace(m.GuestArch+" "+m.GuestKernel))
	row("vmfsbench", strings.TrimSpace(m.Version+" "+m.Commit))
	row("spec sha256", m.SpecSHA256)
	if m.Tree != nil {
		row("tree fingerprint", fmt.Sprintf("%s (%d entries)", m.Tree.Fingerprint, m.Tree.Entries))
	}
	if !m.Start.IsZero() {
		row("start", m.Start.UTC().Format(time.RFC3339))
	}
	if !m.End.IsZero() {
		row("end", m.End.UTC().Format(time.RFC3339))
	}
}

// mdEscape makes text safe inside a Markdown table cell.
func mdEscape(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "*", `\*`, "_", `\_`).Replace(s)
	return htmlTagRE.ReplaceAllString(s, "&lt;$1")
}

// htmlTagRE matches what Markdown would take for the start of an HTML tag ("<run-id>").
var htmlTagRE = regexp.MustCompile(`<([A-Za-z/!?])`)

// mdCode writes s as inline code (cell IDs hold characters Markdown would interpret).
func mdCode(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

// plural is "1 repetition" or "3 repetitions".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
