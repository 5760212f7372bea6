package spec

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxDuration is the longest duration a spec takes. A Slurm task's time limit is a sum of a
// spec's timeouts, one per cell of the task, and Slurm holds at most 24855 days: a bound
// far below it keeps every such sum a limit Slurm can be given.
const MaxDuration = 365 * 24 * time.Hour

// goDurationRE matches what time.ParseDuration reads, whatever its size.
var goDurationRE = regexp.MustCompile(`^\+?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`)

func tooLong(s string) error {
	return fmt.Errorf("duration %q is longer than %dd, the longest a spec takes", s, MaxDuration/(24*time.Hour))
}

// ParseDuration parses a duration such as `2h`, `90s`, `1h30m` (Go syntax, plus `d` for
// days) or a plain number of seconds. It must be positive and at most MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	// count is n units, or an error for a count out of range.
	count := func(n int64, err error, unit time.Duration) (time.Duration, error) {
		switch {
		case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(t, "-"), err == nil && n > int64(math.MaxInt64/unit):
			return 0, tooLong(s)
		case err != nil, n <= 0:
			return 0, fmt.Errorf("duration %q must be positive", s)
		}
		return time.Duration(n) * unit, nil
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if d, err = count(n, err, time.Second); err != nil {
			return 0, err
		}
	} else if strings.HasSuffix(t, "d") {
		n, err := strconv.ParseInt(strings.TrimSuffix(t, "d"), 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 30m, 2h, 1d)", s)
		}
		if d, err = count(n, err, 24*time.Hour); err != nil {
			return 0, err
		}
	} else if d, err = time.ParseDuration(t); err != nil {
		if goDurationRE.MatchString(t) { // well formed: too long for a time.Duration
			return 0, tooLong(s)
		}
		return 0, fmt.Errorf("%q is not a duration (want e.g. 90s, 30m, 2h)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	if d > MaxDuration {
		return 0, tooLong(s)
	}
	return d, nil
}
