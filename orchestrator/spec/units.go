package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps suffixes to multipliers. Binary units (KiB, K) follow QEMU's `-m 2G`;
// decimal units (KB, MB) are there because people write them.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1000}, {"MB", 1000_000}, {"GB", 1000_000_000}, {"TB", 1000_000_000_000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"k", 1 << 10}, {"B", 1},
}

// ParseSize parses a byte count: a plain integer (`512000`) or a number with a unit
// (`64GiB`, `1.5G`, `128KiB`, `300MB`). K/M/G/T alone are binary, as in QEMU.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	mult := int64(1)
	num := t
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			mult, num = u.mult, strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("size %q is negative", s)
		}
		if mult > 1 && n > math.MaxInt64/mult {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(num, "eExXpP_") {
		return 0, fmt.Errorf("%q is not a size (want e.g. 512000, 128KiB, 64GiB)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("size %q is negative", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("size %q is not a whole number of bytes", s)
	}
	return int64(v), nil
}

// FormatSize renders a byte count in the largest binary unit that divides it exactly, so a
// size read from a spec prints the way it was probably written.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseDuration parses a duration such as `2h`, `90s`, `1h30m` (Go syntax, plus `d` for
// days) or a plain number of seconds. It must be positive.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("duration %q must be positive", s)
		}
		if n > int64(math.MaxInt64/time.Second) {
			return 0, fmt.Errorf("duration %q is too large", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	if strings.HasSuffix(t, "d") {
		n, err := strconv.ParseInt(strings.TrimSuffix(t, "d"), 10, 64)
		if err != nil || n <= 0 || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 30m, 2h, 1d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 30m, 2h)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return d, nil
}
