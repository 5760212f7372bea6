package main

import (
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

// TestLitReport reads a report lit 14 wrote (-o) for a four-test suite: one test of each of
// PASS, FAIL, UNSUPPORTED and XFAIL.
func TestLitReport(t *testing.T) {
	tests, err := litReport("testdata/lit-report.json")
	if err != nil {
		t.Fatal(err)
	}
	tr := func(name, code string, s float64) protocol.TestResult {
		return protocol.TestResult{Name: name, Code: code, Seconds: s}
	}
	want := []protocol.TestResult{tr("mini :: a.txt", "PASS", 0.35796427726745605), tr("mini :: b.txt", "FAIL", 0.3953979015350342),
		tr("mini :: c.txt", "UNSUPPORTED", 0.022269487380981445), tr("mini :: d.txt", "XFAIL", 0.12030935287475586)}
	if len(tests) != len(want) {
		t.Fatalf("tests %+v, want %+v", tests, want)
	}
	for i := range want {
		if tests[i] != want[i] {
			t.Errorf("test %d: %+v, want %+v", i, tests[i], want[i])
		}
	}
	if _, err := litReport("testdata/missing.json"); err == nil {
		t.Error("a missing report read without error")
	}
}

func TestLitReportPath(t *testing.T) {
	for _, c := range []struct {
		w    protocol.Workload
		root string
		want string
	}{
		{protocol.Workload{Cwd: "build/test", LitReport: "r.json"}, "/tree", "/tree/build/test/r.json"},
		{protocol.Workload{Cwd: "test", LitReport: "r.json", Chroot: "/vmfsbench/rootfs"}, "/home/u/tree", "/vmfsbench/rootfs/home/u/tree/test/r.json"},
		{protocol.Workload{Cwd: "test", LitReport: "/tmp/r.json", Chroot: "/rootfs"}, "/tree", "/rootfs/tmp/r.json"},
	} {
		if got := litReportPath(c.w, c.root); got != c.want {
			t.Errorf("%+v in %s: %s, want %s", c.w, c.root, got, c.want)
		}
	}
}
