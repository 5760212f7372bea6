package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareWarns (finding 5): compare prints its comparison but warns, naming the cause,
// and exits 1 when a run has an unreadable cell file (also against a reference) or when the
// two runs differ in spec; runs of one spec compare with exit 0 and no warning.
func TestCompareWarns(t *testing.T) {
	a, b := copyFixture(t, "seed-a"), copyFixture(t, "seed-b")
	if code, out, errs := runCLI(t, "compare", a, b); code != exitOK || errs != "" || !strings.Contains(out, "Mann-Whitney") {
		t.Fatalf("runs of one spec: exit %d\n%s%s", code, out, errs)
	}
	if err := os.WriteFile(filepath.Join(a, "cells", "ext4__empty__r9.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "compare", a, seedCSV)
	if code != exitFailed || !strings.Contains(out, "Same order as the reference") ||
		!strings.Contains(errs, "vmfsbench compare: warning: "+a+": unreadable cell file, left out: cells/ext4__empty__r9.json: ") ||
		!strings.HasSuffix(errs, "vmfsbench compare: 1 warning(s) above: the comparison may not hold\n") {
		t.Errorf("unreadable cell against the reference: exit %d\n%s%s", code, out, errs)
	}
	os.Remove(filepath.Join(a, "cells", "ext4__empty__r9.json"))
	data, err := os.ReadFile(filepath.Join(b, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), `"spec_sha256": "5f0c1d5c`, `"spec_sha256": "00000000`, 1))
	if err := os.WriteFile(filepath.Join(b, "run.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, json := range []bool{false, true} {
		args := []string{"compare", a, b}
		if json {
			args = append(args, "--json")
		}
		code, out, errs := runCLI(t, args...)
		if code != exitFailed || out == "" || !strings.Contains(errs, "vmfsbench compare: warning: the runs have different specs: spec hash 5f0c1d5cbb1e in "+a+", 00000000bb1e in "+b) {
			t.Errorf("different specs (json %v): exit %d\n%s%s", json, code, out, errs)
		}
		if json && !strings.Contains(out, `"warnings": [`) {
			t.Errorf("the JSON has no warnings:\n%s", out)
		}
	}
}
