package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	fixtures = "../../../results/testdata/runs"
	seedCSV  = "../../../results/reference/seed-2024-10.csv"
)

// copyFixture copies a results fixture run so that `report` writes into a temporary directory.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(fixtures, name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestReportAndCompare(t *testing.T) {
	seedA := copyFixture(t, "seed-a")
	empty := t.TempDir()
	badRef := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badRef, []byte("method,cache\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // a substring of stdout or stderr
	}{
		{"report", []string{"report", seedA, "--reference", seedCSV}, 0, "36 cells (35 ok, 1 failed) in 12 groups"},
		{"report without args", []string{"report"}, 2, "usage: vmfsbench report DIR"},
		{"report missing dir", []string{"report", filepath.Join(empty, "nope")}, 2, "no such file or directory"},
		{"report no cells", []string{"report", empty}, 2, "holds no cell results"},
		{"report bad reference", []string{"report", seedA, "--reference", badRef}, 2, "bad.csv:1: header is method,cache"},
		{"compare with reference", []string{"compare", filepath.Join(fixtures, "seed-a"), seedCSV}, 0,
			"Same order as the reference: squashfs < ext4 < 9p < virtiofs."},
		{"compare runs", []string{"compare", filepath.Join(fixtures, "seed-a"), filepath.Join(fixtures, "seed-b")}, 0,
			"yes: Mann-Whitney U=15, p=0.0357 < 0.05"},
		{"compare runs json", []string{"compare", "--json", filepath.Join(fixtures, "seed-a"), filepath.Join(fixtures, "seed-b")}, 0,
			`"beyond_noise": true`},
		{"compare no common cache", []string{"compare", filepath.Join(fixtures, "tcg-9p"), seedCSV}, 2, "no cache state in common"},
		{"compare no common group", []string{"compare", filepath.Join(fixtures, "tcg-9p"), filepath.Join(fixtures, "seed-a")}, 2,
			"no cell group in common"},
		{"compare bad reference", []string{"compare", filepath.Join(fixtures, "seed-a"), badRef}, 2, "header is"},
		{"compare missing", []string{"compare", filepath.Join(fixtures, "seed-a"), filepath.Join(empty, "nope.csv")}, 2, "nope.csv"},
		{"compare one arg", []string{"compare", filepath.Join(fixtures, "seed-a")}, 2, "usage: vmfsbench compare"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.out) {
				t.Errorf("exit %d, want %d with %q; output:\n%s%s", code, tc.code, tc.out, out, errs)
			}
		})
	}
	for _, f := range []string{"report.md", "chart.svg", "summary.csv", "summary.json"} {
		if fi, err := os.Stat(filepath.Join(seedA, f)); err != nil || fi.Size() == 0 {
			t.Errorf("report did not write %s: %v", f, err)
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("report wrote %d files into a directory without cells", len(entries))
	}
	report, _ := os.ReadFile(filepath.Join(seedA, "report.md"))
	if !strings.Contains(string(report), "## Reference: seed-2024-10.csv") {
		t.Errorf("report.md has no reference section")
	}
}
