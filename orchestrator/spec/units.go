package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

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
