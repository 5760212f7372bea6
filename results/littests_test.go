package results

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLitTestsRoundTrip: WriteCell keeps lit's per-test results in NAME.tests.csv, out of the
// cell JSON, and ReadRun reads them back; a missing tests file leaves the cell with a warning.
func TestLitTestsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tests := []LitResult{{"LLVM :: a, \"quoted\".ll", "PASS", 0.125}, {"LLVM :: b.ll", "FAIL", 2}}
	c := &Cell{ID: "squashfs/warm/r1", Group: "squashfs/warm", Method: "squashfs", Cache: "warm", Repetition: 1,
		Status: StatusOK, Lit: &Lit{Passed: 1, Counts: map[string]int{"Passed": 1, "Failed": 1}, Tests: tests}}
	if err := WriteCell(dir, "squashfs__warm__r1", c, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, CellsDir, "squashfs__warm__r1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "b.ll") || !strings.Contains(string(data), `"tests_file": "squashfs__warm__r1.tests.csv"`) {
		t.Errorf("cell JSON holds the tests or lacks the tests file:\n%s", data)
	}
	run, err := ReadRun(dir)
	if err != nil || len(run.Cells) != 1 || len(run.Skipped) != 0 {
		t.Fatalf("read back: %v, %+v", err, run)
	}
	if got := run.Cells[0].Lit.Tests; !slices.Equal(got, tests) {
		t.Errorf("tests read back %+v, want %+v", got, tests)
	}
	os.Remove(filepath.Join(dir, CellsDir, "squashfs__warm__r1.tests.csv"))
	run, err = ReadRun(dir)
	if err != nil || len(run.Cells) != 1 {
		t.Fatalf("read without tests file: %v", err)
	}
	if c := run.Cells[0]; c.Lit.Tests != nil || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "per-test results unreadable") {
		t.Errorf("cell without its tests file: tests %v, warnings %q", c.Lit.Tests, c.Warnings)
	}
}
