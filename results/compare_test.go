package results

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func loadFixture(t *testing.T, name string) *Summary {
	t.Helper()
	s, err := LoadSummary(filepath.Join("testdata", "runs", name))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCompareRuns compares the two fixture runs: B has 5 repetitions where A has 3,
// squashfs 10% faster, 9p msize=512000 3% slower, the rest the same within +-0.6%, no ssh-tar
// and a new erofs; A's virtiofs warm has only 2 ok repetitions.
func TestCompareRuns(t *testing.T) {
	a, b := loadFixture(t, "seed-a"), loadFixture(t, "seed-b")
	changes, onlyA, onlyB := CompareRuns(a, b)
	if want := []string{"ssh-tar/empty", "ssh-tar/warm"}; !slices.Equal(onlyA, want) {
		t.Errorf("only in A: %v, want %v", onlyA, want)
	}
	if want := []string{"erofs.compression=none/empty", "erofs.compression=none/warm"}; !slices.Equal(onlyB, want) {
		t.Errorf("only in B: %v, want %v", onlyB, want)
	}
	byGroup := map[string]Change{}
	for _, c := range changes {
		byGroup[c.Group] = c
	}
	for _, tc := range []struct {
		group   string
		test    string
		beyond  bool
		p       float64 // 0: not checked
		minPct  float64
		maxPct  float64
		verdict string
	}{
		// Every B value below every A value: U=0, exact p = 2/C(8,3) = 2/56.
		{"squashfs.compression=none/empty", "mann-whitney", true, 2.0 / 56, -11, -9, "yes: Mann-Whitney U=15, p=0.0357 < 0.05"},
		{"squashfs.compression=none/warm", "mann-whitney", true, 2.0 / 56, -11, -9, ""},
		{"9p.msize=512000.cache=none/empty", "mann-whitney", true, 2.0 / 56, 2, 4, ""},
		// 2 ok repetitions in A: too few for U; CIs of 50% and 94% coverage overlap.
		{"virtiofs.cache=always.queue_size=1024/warm", "ci", false, 0, -1, 1, "no: the 50% and 94% CIs of the medians overlap"},
	} {
		c, ok := byGroup[tc.group]
		if !ok {
			t.Errorf("%s not compared", tc.group)
			continue
		}
		pct := c.Change * 100
		if c.Test != tc.test || c.Beyond != tc.beyond || (tc.p != 0 && !near(c.P, tc.p, 1e-12)) || pct < tc.minPct || pct > tc.maxPct ||
			(tc.verdict != "" && c.Verdict != tc.verdict) {
			t.Errorf("%s: test %s beyond %v p %v change %.2f%% verdict %q; want %s %v p %v change in [%v, %v]%% %q",
				tc.group, c.Test, c.Beyond, c.P, pct, c.Verdict, tc.test, tc.beyond, tc.p, tc.minPct, tc.maxPct, tc.verdict)
		}
	}
	// Unchanged groups must not be called changed.
	for _, g := range []string{"ext4/empty", "ext4/warm", "virtiofs.cache=always.queue_size=1024/empty", "9p.msize=65536.cache=none/warm"} {
		if c := byGroup[g]; c.Beyond {
			t.Errorf("%s: %s, but it did not change", g, c.Verdict)
		}
	}
	var buf bytes.Buffer
	if err := WriteChangesText(&buf, changes, onlyA, onlyB, "seed-a", "seed-b"); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-runs.txt", buf.Bytes())
}

func TestCompareRunsFewRepetitions(t *testing.T) {
	mk := func(group string, totals ...float64) *Summary {
		var cells []*Cell
		for i, x := range totals {
			cells = append(cells, &Cell{ID: group + "/r" + string(rune('1'+i)), Group: group, Method: "ext4", Cache: "warm",
				Repetition: i + 1, Status: StatusOK, Total: x, Phases: map[Phase]float64{"workload": x}})
		}
		return Summarize(cells, nil)
	}
	for _, tc := range []struct {
		name    string
		a, b    []float64
		verdict string
	}{
		{"one each", []float64{10}, []float64{20}, "unknown: 1 and 1 ok repetitions (need 2 each)"},
		// 3 against 3: U cannot go below p = 0.1, so the [min, max] intervals (75%) decide.
		{"3v3 apart", []float64{10, 11, 12}, []float64{20, 21, 22},
			"likely: the 75% and 75% CIs of the medians do not overlap; Mann-Whitney p=0.1 cannot go below 0.1 with 3 and 3"},
		// Mid-ranks 1 2 3 4.5 4.5 6, a's doubled sum 2+4+9 = 15; of the 20 splits only
		// {2,4,6} and {2,4,9} (twice) are <= 15: p = 2*3/20 = 0.3, U = 1 + 1/2 (21 > 20, 21 = 21).
		{"3v3 overlapping", []float64{10, 11, 21}, []float64{20, 21, 22},
			"no: the 75% and 75% CIs of the medians overlap; Mann-Whitney p=0.3 cannot go below 0.1 with 3 and 3"},
		{"4v4 apart", []float64{10, 11, 12, 13}, []float64{20, 21, 22, 23}, "yes: Mann-Whitney U=0, p=0.0286 < 0.05"},
	} {
		changes, _, _ := CompareRuns(mk("ext4/warm", tc.a...), mk("ext4/warm", tc.b...))
		if len(changes) != 1 || changes[0].Verdict != tc.verdict {
			t.Errorf("%s: %+v\nwant verdict %q", tc.name, changes, tc.verdict)
		}
	}
}

// TestReadReference checks the seed's CSV against SEED-STUDY.md's table, converted by hand:
// 13m05s = 785 s, 12m45s = 765, 13m56s = 836, 13m49s = 829, 11m33s = 693 (17 s build +
// 11m16s = 676 s workload), 11m16s = 676 (3 + 11m13s = 673), 11m42s = 702 (38 + 11m04s =
// 664), 11m34s = 694 (30 + 664), tar over ssh: 10m40s = 640 s of transfer alone.
func TestReadReference(t *testing.T) {
	ref, err := ReadReference(seedRef)
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	want := []ReferenceRow{
		{Method: "9p", Cache: "empty", Total: f(785)},
		{Method: "9p", Cache: "warm", Total: f(765)},
		{Method: "virtiofs", Cache: "empty", Total: f(836)},
		{Method: "virtiofs", Cache: "warm", Total: f(829)},
		{Method: "squashfs", Cache: "empty", Total: f(693), Build: f(17), Workload: f(676)},
		{Method: "squashfs", Cache: "warm", Total: f(676), Build: f(3), Workload: f(673)},
		{Method: "ext4", Cache: "empty", Total: f(702), Build: f(38), Workload: f(664)},
		{Method: "ext4", Cache: "warm", Total: f(694), Build: f(30), Workload: f(664)},
		{Method: "ssh-tar", Cache: "empty", Transfer: f(640)},
	}
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	if len(ref.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(ref.Rows), len(want))
	}
	for i, w := range want {
		g := ref.Rows[i]
		if g.Method != w.Method || g.Cache != w.Cache || !eq(g.Total, w.Total) || !eq(g.Build, w.Build) ||
			!eq(g.Transfer, w.Transfer) || !eq(g.Workload, w.Workload) {
			t.Errorf("row %d: %s %s total %v build %v transfer %v workload %v; want %+v", i, g.Method, g.Cache,
				deref(g.Total), deref(g.Build), deref(g.Transfer), deref(g.Workload), w)
		}
		// Where the parts are given they add up to the total.
		if g.Total != nil && g.Build != nil && g.Workload != nil && *g.Build+*g.Workload != *g.Total {
			t.Errorf("%s %s: %v + %v != %v", g.Method, g.Cache, *g.Build, *g.Workload, *g.Total)
		}
	}
}

func TestReadReferenceErrors(t *testing.T) {
	const head = "method,cache,total_s,build_s,transfer_s,workload_s,note\n"
	for _, tc := range []struct{ name, csv, want string }{
		{"bad header", "method,cache,total\n", "ref.csv:1: header is method,cache,total, want method,cache,total_s,"},
		{"duplicate", head + "9p,empty,1,,,,\n9p,empty,2,,,,\n", "ref.csv:3: 9p empty is already given on line 2"},
		{"not a number", head + "9p,empty,13m05s,,,,\n", `ref.csv:2: total_s: "13m05s" is not a number of seconds`},
		{"negative", head + "9p,empty,-1,,,,\n", `ref.csv:2: total_s: "-1" is not a number of seconds`},
		{"short row", head + "9p,empty,1\n", "ref.csv:2: 3 fields, want 7"},
		{"no method", head + ",empty,1,,,,\n", "ref.csv:2: method and cache must not be empty"},
	} {
		path := filepath.Join(t.TempDir(), "ref.csv")
		if err := os.WriteFile(path, []byte(tc.csv), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadReference(path)
		if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), path, "ref.csv"), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestCompareReference ranks the seed-like fixture against the seed: the same order in both
// cache states, the 9p sweep represented by its faster msize, ssh-tar unranked (the
// reference has no total for it).
func TestCompareReference(t *testing.T) {
	ref, err := ReadReference(seedRef)
	if err != nil {
		t.Fatal(err)
	}
	tables := CompareReference(loadFixture(t, "seed-a"), ref, "")
	var titles []string
	for _, tb := range tables {
		titles = append(titles, tb.Title)
	}
	if want := []string{"empty cache", "warm cache", "all cache states"}; !slices.Equal(titles, want) {
		t.Fatalf("tables %v, want %v", titles, want)
	}
	empty := tables[0]
	if want := []string{"squashfs", "ext4", "9p", "virtiofs"}; !slices.Equal(empty.RefOrder, want) || !empty.Same {
		t.Errorf("empty: run order %v, reference order %v (same %v), want both %v", empty.RunOrder, empty.RefOrder, empty.Same, want)
	}
	for _, r := range empty.Rows {
		switch r.Method {
		case "9p":
			// 785/693 = 1.1328 in the reference.
			if r.Label != "msize=512000" || !near(r.RefRatio, 785.0/693, 1e-12) || r.RefRank != 3 {
				t.Errorf("9p row %+v", r)
			}
		case "ssh-tar":
			if r.RunRank != 0 || r.RefRank != 0 || r.Ref != nil || r.Run == nil {
				t.Errorf("ssh-tar row %+v", r)
			}
		case "squashfs":
			if r.RunRatio != 1 || r.RefRatio != 1 || r.RunRank != 1 {
				t.Errorf("squashfs row %+v", r)
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteRankText(&buf, tables); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-reference.txt", buf.Bytes())
	// A run with only asis cells has nothing in common with the seed.
	if got := CompareReference(loadFixture(t, "tcg-9p"), ref, ""); len(got) != 0 {
		t.Errorf("asis run vs seed: %d tables, want none", len(got))
	}
}
