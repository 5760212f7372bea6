package run

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b) // not a terminal: plain lines
	p.Cell(1, 2, "9p/empty/r1")
	p.Phase("boot")
	p.CellDone(10*time.Second, "9p/empty/r1 ok")
	p.Cell(2, 2, "ext4/empty/r1")
	p.Close()
	out := b.String()
	for _, want := range []string{"cell 1/2 9p/empty/r1 (elapsed", "  boot\n", "cell 1/2 9p/empty/r1 ok\n",
		"cell 2/2 ext4/empty/r1 (elapsed 0s, about 10s left)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("plain output redraws: %q", out)
	}
	var nilP *Progress
	nilP.Logf("no panic")
}
