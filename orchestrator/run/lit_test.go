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
