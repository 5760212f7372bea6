package results

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFinishedCells: a run killed at various moments leaves complete cells, a temporary file
// of an interrupted atomic write, a truncated JSON (a non-atomic writer), a cell without a
// final status and unrelated files. Only the complete ok and failed cells are finished.
func TestFinishedCells(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ok := &Cell{ID: "9p/empty/r1", Group: "9p/empty", Method: "9p", Params: map[string]any{}, Cache: "empty", Repetition: 1,
		Phases: map[Phase]float64{"workload": 3}, Start: start}
	ok.Finish(start.Add(5 * time.Second))
	failed := &Cell{ID: "9p/empty/r2", Group: "9p/empty", Method: "9p", Params: map[string]any{}, Cache: "empty", Repetition: 2,
		Phases: map[Phase]float64{}, Error: "boot: timeout", Start: start.Add(time.Minute)}
	failed.Finish(start.Add(2 * time.Minute))
	if err := WriteCell(dir, "9p__empty__r1", ok, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteCell(dir, "9p__empty__r2", failed, nil); err != nil {
		t.Fatal(err)
	}
	cells := filepath.Join(dir, CellsDir)
	writeFile(t, filepath.Join(cells, ".9p__empty__r3.json.123456.tmp"), `{"id": "9p/empty/r3", "status": "o`)
	writeFile(t, filepath.Join(cells, "9p__warm__r1.json"), `{"id": "9p/warm/r1", "group": "9p/warm", "status": "ok", "phases": {"wor`)
	writeFile(t, filepath.Join(cells, "9p__warm__r2.json"), `{"id": "9p/warm/r2", "status": ""}`)
	writeFile(t, filepath.Join(cells, "notes.txt"), "not a cell")

	got, err := FinishedCells(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if want := []string{"9p/empty/r1", "9p/empty/r2"}; !slices.Equal(ids, want) {
		t.Fatalf("finished cells %v, want %v", ids, want)
	}
	if c := got["9p/empty/r1"]; c.Status != StatusOK || c.Total != 3 || c.Wall != 5 {
		t.Errorf("ok cell read back as %+v", c)
	}
	if c := got["9p/empty/r2"]; c.Status != StatusFailed || c.Error != "boot: timeout" {
		t.Errorf("failed cell read back as %+v", c)
	}
	run, err := ReadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"cells/9p__warm__r1.json: unexpected end of JSON input",
		`cells/9p__warm__r2.json: cell 9p/warm/r2 has status "", want ok, failed or error`,
	}
	for i := range want {
		want[i] = filepath.FromSlash(want[i])
	}
	if !slices.Equal(run.Skipped, want) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(run.Skipped, "\n"), strings.Join(want, "\n"))
	}
	if d := run.Duration(); d != 2*time.Minute {
		t.Errorf("duration %v, want 2m0s (first start to last end)", d)
	}
}

func TestFinishedCellsEmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	got, err := FinishedCells(dir)
	if err != nil || len(got) != 0 {
		t.Errorf("a run without cells/: %v, %v; want none and no error", got, err)
	}
	if _, err := FinishedCells(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing run directory: %v, want fs.ErrNotExist", err)
	}
}

func TestDuplicateCellID(t *testing.T) {
	dir := t.TempDir()
	c := &Cell{ID: "ext4/warm/r1", Group: "ext4/warm", Method: "ext4", Cache: "warm", Repetition: 1, Status: StatusOK}
	for _, name := range []string{"a", "b"} {
		if err := WriteJSON(filepath.Join(dir, CellsDir, name+".json"), c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ReadRun(dir); err == nil || !strings.Contains(err.Error(), "both hold cell ext4/warm/r1") {
		t.Errorf("two files with one cell: %v", err)
	}
}

func TestCheckSpecHash(t *testing.T) {
	dir := t.TempDir()
	spec := []byte("version: 1\nname: x\n")
	writeFile(t, filepath.Join(dir, SpecFile), string(spec))
	// sha256 of "version: 1\nname: x\n", computed with sha256sum.
	const h = "daa31caba62f35fdf58d0ccbdedfe727152463d41d6d41f2426f0854b97b6cb2"
	if got := HashSpec(spec); got != h {
		t.Fatalf("HashSpec = %s, sha256sum says %s", got, h)
	}
	// Without run.json the hash of spec.yaml is the reference.
	if err := CheckSpecHash(dir, spec); err != nil {
		t.Errorf("same spec, no run.json: %v", err)
	}
	m := &Meta{Spec: "x", SpecSHA256: HashSpec(spec), Start: time.Now()}
	if err := WriteRunMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	if got, err := SpecHash(dir); err != nil || got != HashSpec(spec) {
		t.Errorf("SpecHash = %s, %v", got, err)
	}
	if err := CheckSpecHash(dir, spec); err != nil {
		t.Errorf("same spec: %v", err)
	}
	changed := []byte("version: 1\nname: y\n")
	err := CheckSpecHash(dir, changed)
	want := "spec changed since the run started: hash " + HashSpec(spec) + " in " + filepath.Join(dir, "run.json") +
		", " + HashSpec(changed) + " now; start a new run"
	if err == nil || err.Error() != want {
		t.Errorf("changed spec: %v\nwant: %s", err, want)
	}
	if err := CheckSpecHash(t.TempDir(), spec); err == nil || !strings.Contains(err.Error(), "spec.yaml") {
		t.Errorf("a directory without spec.yaml or run.json: %v", err)
	}
}
