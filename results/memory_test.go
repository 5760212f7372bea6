package results

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestWriteMemory: the report's memory table gives per group the medians of the read and
// digest passes and of the memory figures, in MiB, and is left out when no cell has them.
func TestWriteMemory(t *testing.T) {
	var cells []*Cell
	for i, rss := range []int64{300 << 10, 100 << 10, 200 << 10} {
		c := &Cell{ID: "erofs.device=pmem/empty/r" + itoa(int64(i+1)), Group: "erofs.device=pmem/empty", Method: "erofs",
			Cache: "empty", Repetition: i + 1, Phases: map[Phase]float64{PhaseWorkload: 2},
			Guest:  GuestFigures{WorkloadSeconds: float64(i + 1), VerifySeconds: 4},
			Memory: &Memory{QEMURSSKiB: rss, QEMUPeakKiB: rss, QEMUFileKiB: 50 << 10, GuestPageCacheKiB: 3 << 10}}
		c.Start = time.Unix(0, 0)
		c.Finish(c.Start.Add(time.Second))
		cells = append(cells, c)
	}
	var b bytes.Buffer
	writeMemory(&b, Summarize(cells, nil))
	want := "| `erofs.device=pmem/empty` | 2.0s | 4.0s | 200 | 50 | 3 |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("table\n%s\nlacks %q", b.String(), want)
	}
	for _, c := range cells {
		c.Memory = nil
	}
	b.Reset()
	writeMemory(&b, Summarize(cells, nil))
	if b.Len() != 0 {
		t.Errorf("a run without memory figures got a table:\n%s", b.String())
	}
}
