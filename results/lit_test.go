package results

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteLit(t *testing.T) {
	mk := func(id, method string, passed int, slow ...LitTest) *Cell {
		return &Cell{ID: id + "/r1", Group: id, Method: method, Cache: "warm", Repetition: 1, Status: StatusOK,
			Phases: map[Phase]float64{"workload": 10}, Total: 10,
			Lit: &Lit{Passed: passed, Counts: map[string]int{"Passed": passed}, Seconds: 9, Slowest: slow}}
	}
	s := Summarize([]*Cell{
		mk("9p/warm", "9p", 40, LitTest{"a.ll", 3}, LitTest{"b.ll", 1}),
		mk("ext4/warm", "ext4", 40, LitTest{"b.ll", 2}),
	}, nil)
	var b bytes.Buffer
	writeLit(&b, s)
	out := b.String()
	for _, want := range []string{"| `9p/warm` | 40 |", "Every cell passed the same number of tests.", "| 9p | a.ll 3.0s<br>b.ll 1.0s |", "| ext4 | b.ll 2.0s |"} {
		if !strings.Contains(out, want) {
			t.Errorf("lit section lacks %q:\n%s", want, out)
		}
	}
	s.Cells[1].Lit.Passed = 39
	b.Reset()
	writeLit(&b, s)
	if !strings.Contains(b.String(), "The pass counts differ") {
		t.Errorf("differing pass counts not flagged:\n%s", b.String())
	}
}
