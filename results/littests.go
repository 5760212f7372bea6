package results

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// TestsSuffix ends the name of a cell's per-test results file, beside its JSON.
const TestsSuffix = ".tests.csv"

var litTestsHeader = []string{"test", "code", "seconds"}

// litTestsCSV is the tests file of a cell: a header and one row per test.
func litTestsCSV(tests []LitResult) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(litTestsHeader)
	for _, t := range tests {
		w.Write([]string{t.Name, t.Code, strconv.FormatFloat(t.Seconds, 'g', -1, 64)})
	}
	w.Flush()
	return b.Bytes()
}

// readLitTests reads a tests file.
func readLitTests(path string) ([]LitResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 || len(recs[0]) != len(litTestsHeader) || recs[0][0] != litTestsHeader[0] {
		return nil, fmt.Errorf("%s: not a tests file (want the header test,code,seconds)", path)
	}
	out := make([]LitResult, 0, len(recs)-1)
	for i, r := range recs[1:] {
		s, err := strconv.ParseFloat(r[2], 64)
		if err != nil || s < 0 {
			return nil, fmt.Errorf("%s:%d: seconds %q is not a time", path, i+2, r[2])
		}
		out = append(out, LitResult{Name: r[0], Code: r[1], Seconds: s})
	}
	return out, nil
}

// loadLitTests reads the tests file a cell read from path names, if any. A cell whose tests
// file is missing or unreadable keeps its other results; the error says why it has no tests.
func loadLitTests(c *Cell, path string) error {
	if c.Lit == nil || c.Lit.TestsFile == "" {
		return nil
	}
	tests, err := readLitTests(filepath.Join(filepath.Dir(path), filepath.Base(c.Lit.TestsFile)))
	if err != nil {
		return err
	}
	c.Lit.Tests = tests
	return nil
}
