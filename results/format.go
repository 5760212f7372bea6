package results

import (
	"fmt"
	"math"
	"strconv"
)

// FormatDuration formats seconds the way the seed study wrote them: 13m05s, 17s, 1h02m03s,
// and with one decimal below ten seconds (3.2s, 0.4s) or two below a tenth (0.04s).
func FormatDuration(sec float64) string {
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return "?"
	}
	if sec < 0 {
		return "-" + FormatDuration(-sec)
	}
	switch {
	case sec == 0:
		return "0s"
	case sec < 0.095:
		if s := strconv.FormatFloat(sec, 'f', 2, 64); s != "0.00" {
			return s + "s"
		}
		return "0s"
	case sec < 9.95:
		return strconv.FormatFloat(sec, 'f', 1, 64) + "s"
	}
	t := int64(math.Round(sec))
	h, m, s := t/3600, t/60%60, t%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// formatFloat formats a number with the fewest digits that read back the same.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatPct formats a fraction as a percentage: one decimal below 10% (0.0734 is "7.3%"),
// none above (0.25 is "25%").
func formatPct(f float64) string {
	p := f * 100
	if math.Abs(p) < 9.95 {
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// formatParam formats a parameter value as the spec would write it.
func formatParam(v any) string {
	switch x := v.(type) {
	case float64:
		return formatFloat(x)
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}
