package main

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's command block")

// Markers of README.md's command block.
const (
	readmeBegin = "<!-- commands: made from orchestrator/cmd/vmfsbench's table; go test ./orchestrator/cmd/vmfsbench -run TestReadmeCommands -update -->\n```\n"
	readmeEnd   = "```\n<!-- end of commands -->\n"
)

// TestReadmeCommands: README.md's command block is readmeCommands, the table's and the flag
// sets' own account of every command, as each command's --help is (go test -update rewrites
// it).
func TestReadmeCommands(t *testing.T) {
	const file = "../../../README.md"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	before, rest, ok := strings.Cut(readme, readmeBegin)
	block, after, ok2 := strings.Cut(rest, readmeEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no command block between %q and %q", file, readmeBegin, readmeEnd)
	}
	want := readmeCommands()
	if block == want {
		return
	}
	if *update {
		if err := os.WriteFile(file, []byte(before+readmeBegin+want+readmeEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's command block differs from the commands' table; rerun with -update and review the diff. Want:\n%s", file, want)
}

// TestReadmeLayout: the README's layout section names every package of the module, in the
// lines of its top directory.
func TestReadmeLayout(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, layout, _ := strings.Cut(string(b), "\n## Layout\n")
	_, block, _ := strings.Cut(layout, "\n```\norchestrator/ ")
	block, _, ok := strings.Cut("orchestrator/ "+block, "```\n")
	if !ok {
		t.Fatal("README.md's Layout section has no block of directories starting with orchestrator/")
	}
	sections := map[string]string{} // top directory: its text
	var top string
	for _, l := range strings.Split(block, "\n") {
		if l != "" && l[0] != ' ' {
			top, _, _ = strings.Cut(l, "/")
		}
		sections[top] += l + "\n"
	}
	seen := map[string]bool{}
	var n int
	err = filepath.WalkDir("../../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "../../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel("../../..", filepath.Dir(p))
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		top, pkg, _ := strings.Cut(filepath.ToSlash(rel), "/")
		text, ok := sections[top]
		switch {
		case !ok:
			t.Errorf("the layout has no line for %s/", top)
		case pkg != "" && !regexp.MustCompile(`[\s(,]`+regexp.QuoteMeta(pkg)+`[\s(,]`).MatchString(text):
			t.Errorf("the layout does not name %s under %s/", pkg, top)
		}
		n++
		return nil
	})
	if err != nil || n < 20 {
		t.Fatalf("walked %d packages: %v", n, err)
	}
}
