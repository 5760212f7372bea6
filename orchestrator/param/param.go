// Package param describes the typed parameters of a method (kinds, defaults, ranges, the
// checks a value must pass) and the byte sizes specs write, so that a method can own its
// parameter table without the spec loader knowing any method.
package param

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a method parameter.
type Kind int

// Parameter kinds.
const (
	KindInt    Kind = iota // a whole number
	KindSize               // a byte count, written as 512000 or 128KiB
	KindEnum               // one of a fixed set of words
	KindString             // free text, e.g. a path
)

// Def describes one parameter of a method: its type, default and what values it takes.
type Def struct {
	Name    string
	Kind    Kind
	Default any      // int64 for KindInt and KindSize, string otherwise
	Enum    []string // allowed values of a KindEnum
	Min     int64    // inclusive bounds of KindInt and KindSize
	Max     int64
	Check   func(v any) error // extra rule, e.g. powers of two
	Help    string
	// Schema, when set, is the JSON Schema of one value, for rules Kind, Min and Max do not
	// say (a power of two, a size or a word); the schema generator adds Default and Help.
	Schema map[string]any
}

// PowerOfTwo is a Check for whole numbers that must be powers of two.
func PowerOfTwo(v any) error {
	n := v.(int64)
	if n&(n-1) != 0 {
		return fmt.Errorf("%d is not a power of two", n)
	}
	return nil
}

// Parse converts a scalar spec value into the parameter's type and checks it. The error
// says what was expected.
func (p Def) Parse(s string) (any, error) {
	switch p.Kind {
	case KindInt, KindSize:
		var n int64
		var err error
		if p.Kind == KindInt {
			n, err = strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", s)
			}
		} else if n, err = ParseSize(s); err != nil {
			return nil, err
		}
		if n < p.Min || n > p.Max {
			why := ""
			if p.Help != "" {
				why = " (" + p.Help + ")"
			}
			return nil, fmt.Errorf("%d is out of range %d..%d%s", n, p.Min, p.Max, why)
		}
		if p.Check != nil {
			if err := p.Check(n); err != nil {
				return nil, err
			}
		}
		return n, nil
	case KindEnum:
		for _, e := range p.Enum {
			if s == e {
				return s, nil
			}
		}
		return nil, fmt.Errorf("unknown value %q, expected one of %s", s, strings.Join(p.Enum, ", "))
	default:
		if s == "" {
			return nil, fmt.Errorf("must not be empty")
		}
		if p.Check != nil {
			if err := p.Check(s); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
}

// FormatValue renders a parameter value as it appears in cell IDs and tables.
func (p Def) FormatValue(v any) string {
	switch x := v.(type) {
	case int64:
		// Sizes print with a unit when they are round (128KiB, 16GiB); odd counts such as
		// 9p's 512000 stay as written.
		if p.Kind == KindSize && x >= 1<<10 && (x%(1<<20) == 0 || x&(x-1) == 0) {
			return FormatSize(x)
		}
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

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
