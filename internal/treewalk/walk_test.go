package treewalk

import "testing"

func TestCompareKeys(t *testing.T) {
	cases := []struct {
		a    string
		aDir bool
		b    string
		bDir bool
		want int
	}{
		{"a", false, "a.c", false, -1},
		{"a", true, "a.c", false, 1}, // "a/" > "a.c"
		{"a", true, "a0", false, -1}, // "a/" < "a0"
		{"a", true, "a", true, 0},
		{"ab", false, "a", true, 1},  // "ab" > "a/"
		{"a-", false, "a", true, -1}, // "a-" < "a/"
	}
	for _, c := range cases {
		if got := compareKeys(c.a, c.aDir, c.b, c.bDir); got != c.want {
			t.Errorf("compareKeys(%q,%v,%q,%v) = %d, want %d", c.a, c.aDir, c.b, c.bDir, got, c.want)
		}
		if got := compareKeys(c.b, c.bDir, c.a, c.aDir); got != -c.want {
			t.Errorf("compareKeys(%q,%v,%q,%v) = %d, want %d", c.b, c.bDir, c.a, c.aDir, got, -c.want)
		}
	}
}
