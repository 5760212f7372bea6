package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

func TestLookTool(t *testing.T) {
	if _, err := LookTool("sh"); err != nil {
		t.Errorf("LookTool(sh): %v", err)
	}
	if _, err := LookTool("no-such-tool-vmfsbench"); err == nil {
		t.Error("LookTool of a missing tool: no error")
	}
	if _, err := LookTool("/no/such/tool"); err == nil {
		t.Error("LookTool of a missing path: no error")
	}
}

// TestEverySkipGoesThroughTestenv: no test of the module skips on its own or reads CI itself,
// so whether a test runs is decided in one place, by one rule.
func TestEverySkipGoesThroughTestenv(t *testing.T) {
	bypass := regexp.MustCompile(`\.Skip(f|Now)?\(|testing\.Short\(\)|Getenv\("CI"\)`)
	var n int
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testenv" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "../.." {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, l := range strings.Split(string(b), "\n") {
			if bypass.MatchString(l) {
				t.Errorf("%s:%d: %s: skip through testenv (Missing, NotShort, Guest, Inapplicable, OptIn)", p, i+1, strings.TrimSpace(l))
			}
		}
		return nil
	})
	if err != nil || n < 50 {
		t.Fatalf("walked %d Go files of the module: %v", n, err)
	}
}
