package results

import (
	"reflect"
	"testing"
)

// TestRankVariants ranks method variants by the median total of their ok cells over every
// cache state; failed cells only count as failures, and a variant with none ok is left out.
func TestRankVariants(t *testing.T) {
	cell := func(id string, total float64, ok bool) *Cell {
		st := StatusOK
		if !ok {
			st = StatusFailed
		}
		return &Cell{ID: id, Status: st, Total: total}
	}
	got := RankVariants([]*Cell{
		cell("9p.msize=512000/empty/r1", 90, true), cell("9p.msize=512000/warm/r1", 80, true),
		cell("erofs/empty/r1", 30, true), cell("erofs/warm/r1", 10, true), cell("erofs/warm/r2", 20, true),
		cell("erofs/empty/r2", 1, false),
		cell("ext4/empty/r1", 5, false),
	})
	want := []VariantRank{{Variant: "erofs", Median: 20, OK: 3, Failed: 1}, {Variant: "9p.msize=512000", Median: 85, OK: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
