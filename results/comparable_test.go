package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setCells rewrites every cell of the run in dir with edit applied.
func setCells(t *testing.T, dir string, edit func(*Cell)) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, CellsDir, "*.json"))
	for _, f := range files {
		c, err := ReadCell(f)
		if err != nil {
			t.Fatal(err)
		}
		edit(c)
		if err := WriteJSON(f, c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIncomparable (finding 5): two runs of different specs, workloads or trees, and a run
// with an unreadable cell file, are each named; two runs of one spec are not.
func TestIncomparable(t *testing.T) {
	a, b := copyRun(t, filepath.Join("testdata", "runs", "seed-a")), copyRun(t, filepath.Join("testdata", "runs", "seed-b"))
	load := func(dir string) *Summary {
		s, err := LoadSummary(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := Incomparable(a, b, load(a), load(b)); len(got) != 0 {
		t.Errorf("runs of one spec: %q", got)
	}
	if got := Unreadable(a, load(a)); len(got) != 0 {
		t.Errorf("whole run: %q", got)
	}

	// Another spec, with another workload, on another tree; and a truncated cell file.
	meta, err := ReadRunMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	meta.SpecSHA256 = strings.Repeat("ab", 32)
	if err := WriteRunMeta(b, meta); err != nil {
		t.Fatal(err)
	}
	spec := "version: 1\nname: seed\nworkload:\n  command: [/bin/true]\n  timeout: 5s\n"
	if err := os.WriteFile(filepath.Join(a, SpecFile), []byte("version: 1\nname: seed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, SpecFile), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	setCells(t, a, func(c *Cell) { c.Digest = strings.Repeat("1", 64) })
	setCells(t, b, func(c *Cell) { c.Digest = strings.Repeat("2", 64) })
	if err := os.WriteFile(filepath.Join(b, CellsDir, "ext4__empty__r9.json"), []byte(`{"id": "ext4/emp`), 0o644); err != nil {
		t.Fatal(err)
	}
	sa, sb := load(a), load(b)
	want := []string{
		"the runs have different specs: spec hash 5f0c1d5cbb1e in " + a + ", abababababab in " + b,
		"the runs have different workloads: (default) in " + a + ", {command: [/bin/true], timeout: 5s} in " + b,
		"the runs read different trees: tree digest 111111111111 in " + a + ", 222222222222 in " + b,
	}
	if got := Incomparable(a, b, sa, sb); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := Unreadable(b, sb); len(got) != 1 || !strings.HasPrefix(got[0], b+": unreadable cell file, left out: cells/ext4__empty__r9.json: ") {
		t.Errorf("unreadable: %q", got)
	}
}
