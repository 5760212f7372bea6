package run

import (
	"strings"
	"testing"
)

const litOutput = `-- Testing: 3 tests, 2 workers --
Slowest Tests:
--------------------------------------------------------------------------
3.99s: vmfsbench-llvm :: Assembler/args-ret-3.ll
1.70s: vmfsbench-llvm :: Assembler/invalid-spill-args-1.ll

Tests Times:
--------------------------------------------------------------------------
[3.80s,4.00s) :: [*                                       ] :: [ 2/60]
--------------------------------------------------------------------------

Testing Time: 46.52s
  Passed: 2
  Failed: 1
`

func TestParseLit(t *testing.T) {
	l := parseLit(strings.NewReader(litOutput))
	if l == nil {
		t.Fatal("not recognised as lit output")
	}
	if l.Passed != 2 || l.Counts["Failed"] != 1 || l.Seconds != 46.52 {
		t.Errorf("counts %v passed %d seconds %v", l.Counts, l.Passed, l.Seconds)
	}
	if len(l.Slowest) != 2 || l.Slowest[0].Name != "vmfsbench-llvm :: Assembler/args-ret-3.ll" || l.Slowest[1].Seconds != 1.70 {
		t.Errorf("slowest %+v", l.Slowest)
	}
	if parseLit(strings.NewReader("hello\nworld\n")) != nil {
		t.Error("plain output taken for lit's")
	}
}

// TestParseLit19 reads LLVM 19's lit summary, whose counts carry a percentage.
func TestParseLit19(t *testing.T) {
	l := parseLit(strings.NewReader(`-- Testing: 16 of 499 tests, 2 workers --
Slowest Tests:
--------------------------------------------------------------------------
4.12s: LLVM :: Assembler/2002-04-07-HexFloatConstants.ll
0.98s: LLVM :: Assembler/2002-08-22-DominanceProblem.ll

Testing Time: 15.88s

Total Discovered Tests: 499
  Excluded: 483 (96.79%)
  Passed  :  16 (3.21%)
`))
	if l == nil || l.Passed != 16 || l.Counts["Excluded"] != 483 || l.Seconds != 15.88 || len(l.Slowest) != 2 {
		t.Errorf("lit %+v", l)
	}
}
