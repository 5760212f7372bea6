package results

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Reference is a table of published numbers (results/reference/*.csv, documented in
// results/reference/README.md): one row per method and cache state.
type Reference struct {
	Path string
	Rows []ReferenceRow
}

// ReferenceRow is one method in one cache state. A nil figure was not published.
type ReferenceRow struct {
	Method, Cache                    string
	Total, Build, Transfer, Workload *float64 // seconds
	Note                             string
}

var referenceColumns = []string{"method", "cache", "total_s", "build_s", "transfer_s", "workload_s", "note"}

// ReadReference reads a reference CSV. Its header must be exactly method, cache, total_s,
// build_s, transfer_s, workload_s, note; a figure is empty or a non-negative number of
// seconds; a method and cache state appear at most once.
func ReadReference(path string) (*Reference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read reference: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1 // checked below, with the header's message
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if !slices.Equal(head, referenceColumns) {
		return nil, fmt.Errorf("%s:1: header is %s, want %s", path, strings.Join(head, ","), strings.Join(referenceColumns, ","))
	}
	ref := &Reference{Path: path}
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) != len(referenceColumns) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d (%s)", path, line, len(rec), len(referenceColumns), strings.Join(referenceColumns, ","))
		}
		row := ReferenceRow{Method: strings.TrimSpace(rec[0]), Cache: strings.TrimSpace(rec[1]), Note: rec[6]}
		if row.Method == "" || row.Cache == "" {
			return nil, fmt.Errorf("%s:%d: method and cache must not be empty", path, line)
		}
		key := row.Method + "/" + row.Cache
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s %s is already given on line %d", path, line, row.Method, row.Cache, first)
		}
		seen[key] = line
		for i, dst := range []**float64{&row.Total, &row.Build, &row.Transfer, &row.Workload} {
			v := strings.TrimSpace(rec[2+i])
			if v == "" {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
				return nil, fmt.Errorf("%s:%d: %s: %q is not a number of seconds", path, line, referenceColumns[2+i], v)
			}
			*dst = &x
		}
		ref.Rows = append(ref.Rows, row)
	}
	return ref, nil
}

// Find returns the row of method in cache state cache, or nil.
func (r *Reference) Find(method, cache string) *ReferenceRow {
	for i := range r.Rows {
		if r.Rows[i].Method == method && r.Rows[i].Cache == cache {
			return &r.Rows[i]
		}
	}
	return nil
}

// RankRow is one method in a RankTable. Ranks start at 1; rank 0 means the method has no
// total on that side, or is not on both sides and so is not ranked.
type RankRow struct {
	Method string `json:"method"`
	Cache  string `json:"cache"`
	// Label is the swept parameters of the run's fastest variant of the method ("msize=512000"),
	// when the method was swept.
	Label    string   `json:"label,omitempty"`
	Run      *float64 `json:"run_s"` // median total of that variant; nil when it has none
	RunRatio float64  `json:"run_ratio"`
	RunRank  int      `json:"run_rank"`
	Ref      *float64 `json:"reference_s"` // nil when the reference gives no total
	RefRatio float64  `json:"reference_ratio"`
	RefRank  int      `json:"reference_rank"`
	RefNote  string   `json:"reference_note,omitempty"`
	// Base is this run's ratio to the baseline method in the same cache state, with its
	// interval (see BaselineRatio); nil when the run lacks the method or the baseline.
	Base *Ratio `json:"baseline_ratio,omitempty"`
	// RefBase is the reference's total over its baseline's total; 0 when it lacks either.
	RefBase float64 `json:"reference_baseline_ratio,omitempty"`
	// Agree says whether RefBase lies within Base's interval; nil when either is missing.
	Agree *bool `json:"agree,omitempty"`
}

// RankTable ranks methods by median total in the run and in the reference. Only entries
// with a total on both sides are ranked, and ratios are to the fastest of those.
type RankTable struct {
	Title string `json:"title"`
	// Baseline is the method the Base ratios divide by.
	Baseline string    `json:"baseline"`
	Rows     []RankRow `json:"rows"`
	RunOrder []string  `json:"run_order"`
	RefOrder []string  `json:"reference_order"`
	Same     bool      `json:"same_order"`
}

// CompareReference ranks the run against the reference: one table per cache state present
// on both sides, then, when there are several, one over every method and cache state. For a
// method the run swept, its fastest variant stands for it. Each row also gives both sides'
// ratios to the baseline method (DefaultBaseline when ""), the run's with its interval.
func CompareReference(s *Summary, ref *Reference, baseline string) []RankTable {
	if baseline == "" {
		baseline = DefaultBaseline
	}
	best := fastest(s)
	paired := map[string]Paired{}
	for _, p := range PairWithBaseline(s, baseline) {
		paired[p.Group] = p
	}
	var caches []string
	for _, c := range s.Caches() {
		for _, r := range ref.Rows {
			if r.Cache == c && !slices.Contains(caches, c) {
				caches = append(caches, c)
			}
		}
	}
	var methods []string // reference order, then the run's other methods
	for _, r := range ref.Rows {
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	for _, g := range s.Groups {
		if !slices.Contains(methods, g.Method) {
			methods = append(methods, g.Method)
		}
	}
	build := func(title string, keys [][2]string, withCache bool) RankTable {
		t := RankTable{Title: title, Baseline: baseline}
		for _, k := range keys {
			row := RankRow{Method: k[0], Cache: k[1]}
			b := best[baseline+"/"+k[1]]
			if g := best[k[0]+"/"+k[1]]; g != nil {
				m := g.Total.Median
				row.Run = &m
				row.Label = strings.TrimPrefix(strings.TrimPrefix(g.Label, g.Method), " ")
				if b != nil {
					var pp *Paired
					if p, ok := paired[g.Group]; ok && p.N > 0 {
						pp = &p
					}
					row.Base = BaselineRatio(s, g, b, pp)
				}
			}
			if r := ref.Find(k[0], k[1]); r != nil {
				row.RefNote = r.Note
				row.Ref = r.Total
				if rb := ref.Find(baseline, k[1]); rb != nil && r.Total != nil && rb.Total != nil && *rb.Total > 0 {
					row.RefBase = *r.Total / *rb.Total
				}
			}
			if row.Base != nil && row.RefBase > 0 {
				agree := row.RefBase >= row.Base.Low && row.RefBase <= row.Base.High
				row.Agree = &agree
			}
			if row.Run != nil || ref.Find(k[0], k[1]) != nil {
				t.Rows = append(t.Rows, row)
			}
		}
		both := func(r *RankRow) bool { return r.Run != nil && r.Ref != nil }
		rank(t.Rows, func(r *RankRow) (float64, bool) { return deref(r.Run), both(r) },
			func(r *RankRow, ratio float64, n int) { r.RunRatio, r.RunRank = ratio, n })
		rank(t.Rows, func(r *RankRow) (float64, bool) { return deref(r.Ref), both(r) },
			func(r *RankRow, ratio float64, n int) { r.RefRatio, r.RefRank = ratio, n })
		name := func(r RankRow) string {
			if withCache {
				return r.Method + " " + r.Cache
			}
			return r.Method
		}
		byRank := func(get func(RankRow) int) []string {
			ranked := slices.Clone(t.Rows)
			ranked = slices.DeleteFunc(ranked, func(r RankRow) bool { return get(r) == 0 })
			slices.SortStableFunc(ranked, func(a, b RankRow) int { return get(a) - get(b) })
			out := []string{}
			for _, r := range ranked {
				out = append(out, name(r))
			}
			return out
		}
		t.RunOrder = byRank(func(r RankRow) int { return r.RunRank })
		t.RefOrder = byRank(func(r RankRow) int { return r.RefRank })
		t.Same = slices.Equal(t.RunOrder, t.RefOrder)
		// Reference order first, then unranked rows as they came.
		slices.SortStableFunc(t.Rows, func(a, b RankRow) int {
			ra, rb := a.RefRank, b.RefRank
			if ra == 0 {
				ra = math.MaxInt
			}
			if rb == 0 {
				rb = math.MaxInt
			}
			switch {
			case ra < rb:
				return -1
			case ra > rb:
				return 1
			}
			return 0
		})
		return t
	}
	var tables []RankTable
	var all [][2]string
	for _, c := range caches {
		var keys [][2]string
		for _, m := range methods {
			keys = append(keys, [2]string{m, c})
		}
		all = append(all, keys...)
		tables = append(tables, build(c+" cache", keys, false))
	}
	if len(caches) > 1 {
		tables = append(tables, build(allCaches, all, true))
	}
	return tables
}

// fastest maps method/cache to the method's ok group with the smallest median total.
func fastest(s *Summary) map[string]*Group {
	best := map[string]*Group{}
	for _, g := range s.Groups {
		if g.OK == 0 {
			continue
		}
		k := g.Method + "/" + g.Cache
		if b := best[k]; b == nil || g.Total.Median < b.Total.Median {
			best[k] = g
		}
	}
	return best
}

// rank sets each eligible row's rank (1 = fastest, ties share the better rank) and its ratio
// to the fastest eligible row.
func rank(rows []RankRow, get func(*RankRow) (float64, bool), set func(*RankRow, float64, int)) {
	var vals []float64
	for i := range rows {
		if v, ok := get(&rows[i]); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return
	}
	slices.Sort(vals)
	for i := range rows {
		v, ok := get(&rows[i])
		if !ok {
			continue
		}
		ratio := 0.0
		if vals[0] > 0 {
			ratio = v / vals[0]
		}
		set(&rows[i], ratio, slices.Index(vals, v)+1)
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// allCaches is the title of the rank table over every cache state.
const allCaches = "all cache states"
