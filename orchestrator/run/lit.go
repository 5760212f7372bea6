package run

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/vmfsbench/vmfsbench/results"
)

var (
	// LLVM 15's lit prints "  Passed: 450", LLVM 19's "  Passed  :  16 (3.21%)".
	litCount   = regexp.MustCompile(`^\s+(Passed|Failed|Unsupported|Expectedly Failed|Unexpectedly Passed|Unresolved|Timed Out|Excluded|Skipped)\s*:\s*(\d+)(\s+\([0-9.]+%\))?\s*$`)
	litTime    = regexp.MustCompile(`^Testing Time:\s*([0-9.]+)s`)
	litSlowest = regexp.MustCompile(`^\s*([0-9.]+)s: (.+)$`)
)

// litCodeName is the summary's name of each of lit's result codes.
var litCodeName = map[string]string{"PASS": "Passed", "FLAKYPASS": "Passed", "FAIL": "Failed", "XFAIL": "Expectedly Failed",
	"XPASS": "Unexpectedly Passed", "UNSUPPORTED": "Unsupported", "UNRESOLVED": "Unresolved", "TIMEOUT": "Timed Out",
	"EXCLUDED": "Excluded", "SKIPPED": "Skipped"}

// parseLit reads lit's summary from a workload's output: the counts per result code, the
// testing time and, when lit ran with --time-tests, the per-test times of its "Slowest Tests"
// list. It returns nil when the output is not lit's.
func parseLit(r io.Reader) *results.Lit {
	var l results.Lit
	found, slowest := false, false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Slowest Tests:"):
			slowest = true
		case slowest && strings.TrimSpace(line) == "":
			slowest = false
		case slowest:
			if m := litSlowest.FindStringSubmatch(line); m != nil {
				s, _ := strconv.ParseFloat(m[1], 64)
				l.Slowest = append(l.Slowest, results.LitTest{Name: m[2], Seconds: s})
			}
		default:
			if m := litTime.FindStringSubmatch(line); m != nil {
				l.Seconds, _ = strconv.ParseFloat(m[1], 64)
				found = true
			} else if m := litCount.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[2])
				if l.Counts == nil {
					l.Counts = map[string]int{}
				}
				l.Counts[m[1]] = n
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	l.Passed = l.Counts["Passed"]
	return &l
}

// recordLit parses the cell's workload output for lit's summary, adds every test's result
// from lit's report (the agent sent them with the workload's result) and keeps the slowest
// tests' times beside the output as lit-times.csv.
func (cr *cellRun) recordLit(output string) {
	f, err := os.Open(output)
	if err != nil {
		return
	}
	defer f.Close()
	l := parseLit(f)
	if l == nil && cr.litTests == nil {
		return
	}
	if l == nil { // lit's summary went missing (output cap, a crash): the report has the counts
		l = &results.Lit{Counts: map[string]int{}}
		for _, t := range cr.litTests {
			l.Counts[litCodeName[t.Code]]++
		}
		l.Passed = l.Counts["Passed"]
	}
	l.Tests = cr.litTests
	cr.res.Lit = l
	var b strings.Builder
	b.WriteString("test,seconds\n")
	for _, t := range l.Slowest {
		fmt.Fprintf(&b, "%q,%.2f\n", t.Name, t.Seconds)
	}
	results.WriteFileAtomic(strings.TrimSuffix(output, OutputFile)+"lit-times.csv", []byte(b.String()))
}
