package plan

import (
	"slices"
	"testing"
)

// TestLitReport: an llvm-lit command gets -o LitReportFile unless it names its own report;
// other commands are left alone.
func TestLitReport(t *testing.T) {
	for _, c := range []struct {
		argv, want []string
		report     string
	}{
		{[]string{"../bin/llvm-lit", "-sv", "."}, []string{"../bin/llvm-lit", "-sv", ".", "-o", LitReportFile}, LitReportFile},
		{[]string{"lit", "-o", "/tmp/r.json", "."}, []string{"lit", "-o", "/tmp/r.json", "."}, "/tmp/r.json"},
		{[]string{"llvm-lit", "--output=r.json", "."}, []string{"llvm-lit", "--output=r.json", "."}, "r.json"},
		{[]string{"llvm-lit", "-or.json", "--order=lexical", "."}, []string{"llvm-lit", "-or.json", "--order=lexical", "."}, "r.json"},
		{[]string{"llvm-lit", "--order=lexical", "."}, []string{"llvm-lit", "--order=lexical", ".", "-o", LitReportFile}, LitReportFile},
		{[]string{"sh", "-c", "llvm-lit ."}, []string{"sh", "-c", "llvm-lit ."}, ""},
	} {
		argv, report := litReport(slices.Clone(c.argv))
		if !slices.Equal(argv, c.want) || report != c.report {
			t.Errorf("%q: %q, report %q; want %q, %q", c.argv, argv, report, c.want, c.report)
		}
	}
}
