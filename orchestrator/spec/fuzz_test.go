package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"

	"github.com/vmfsbench/vmfsbench/orchestrator/param"
)

// FuzzParse feeds arbitrary bytes to the loader: it must never panic, and every rejection must
// be a list of FieldErrors that each name the file and a position.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../specs/*.yaml")
	files = append(files, "testdata/three-mistakes.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, tc := range badSpecs {
		f.Add([]byte(tc.yaml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse("fuzz.yaml", data)
		if err == nil {
			if e == nil || e.Name == "" || len(e.Methods) == 0 || e.Repetitions < 1 {
				t.Fatalf("accepted an incomplete spec: %+v", e)
			}
			return
		}
		var m *multierror.Error
		if !errors.As(err, &m) || len(m.Errors) == 0 {
			t.Fatalf("error is not a list of field errors: %v", err)
		}
		for _, fe := range m.Errors {
			var x *FieldError
			if !errors.As(fe, &x) || x.File != "fuzz.yaml" || x.Line < 1 || x.Column < 0 || x.Msg == "" {
				t.Fatalf("unclear error %#v", fe)
			}
			if !strings.HasPrefix(x.Error(), "fuzz.yaml:") {
				t.Fatalf("error does not start with the file: %q", x.Error())
			}
		}
	})
}

// FuzzParseSize: no panic; an accepted size is never negative and formats back to a size that
// parses to the same value.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"512000", "64GiB", "1.5G", "128KiB", "300MB", "0", "-1", "1e9", "9999999999TiB", " 4 MiB "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := param.ParseSize(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if back, err := param.ParseSize(param.FormatSize(n)); err != nil || back != n {
			t.Fatalf("FormatSize(%d) = %q parses to %d, %v", n, param.FormatSize(n), back, err)
		}
	})
}

// FuzzParseDuration: no panic; an accepted duration is positive.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"2h", "90s", "1h30m", "600", "1d", "0", "-5m", "soon", "99999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
