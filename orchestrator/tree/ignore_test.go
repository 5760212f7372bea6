package tree

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// seedRules are the exclusions of the study: everything under build/ except stage2cross,
// and the git directory.
var seedRules = []string{".git", "build/*", "!build/stage2cross"}

// Path kinds for the cases: the git comparison creates each path as one of these.
const (
	file = 'f'
	dir  = 'd'
	link = 'l' // a symlink to a directory: not a directory for `pattern/`
)

var ignoreCases = []struct {
	rules []string
	path  string
	kind  byte
	want  bool // Excluded
}{
	// The study's rules.
	{seedRules, ".git", dir, true},
	{seedRules, ".git/objects/ab", dir, true},
	{seedRules, "build", dir, false},
	{seedRules, "build/stage1", dir, true},
	{seedRules, "build/stage1/bin/clang", file, true},
	{seedRules, "build/stage2", dir, true},
	{seedRules, "build/CMakeCache.txt", file, true},
	{seedRules, "build/stage2cross", dir, false},
	{seedRules, "build/stage2cross/bin/clang", file, false},
	{seedRules, "build/stage2cross/.git", file, true},
	{seedRules, "llvm/.git", dir, true},
	{seedRules, "llvm/build/stage1", dir, false},
	// Comments, blank lines, escapes, trailing spaces.
	{[]string{"# a comment", "", "foo"}, "foo", file, true},
	{[]string{"#foo"}, "#foo", file, false},
	{[]string{`\#foo`}, "#foo", file, true},
	{[]string{"foo   "}, "foo", file, true},
	{[]string{`foo\ `}, "foo ", file, true},
	{[]string{`foo\ `}, "foo", file, false},
	{[]string{`\!keep`}, "!keep", file, true},
	{[]string{`\*`}, "*", file, true},
	{[]string{`\*`}, "a", file, false},
	{[]string{"foo\r"}, "foo", file, true},
	// Anchoring.
	{[]string{"/foo"}, "foo", file, true},
	{[]string{"/foo"}, "a/foo", file, false},
	{[]string{"foo"}, "a/b/foo", file, true},
	{[]string{"a/foo"}, "a/foo", file, true},
	{[]string{"a/foo"}, "x/a/foo", file, false},
	{[]string{"doc/*.txt"}, "doc/a.txt", file, true},
	{[]string{"doc/*.txt"}, "doc/sub/a.txt", file, false},
	{[]string{"/*", "!/llvm"}, "llvm/lib/x.cpp", file, false},
	{[]string{"/*", "!/llvm"}, "clang", dir, true},
	// Wildcards and classes.
	{[]string{"*.o"}, "lib/x.o", file, true},
	{[]string{"?.c"}, "a.c", file, true},
	{[]string{"?.c"}, "ab.c", file, false},
	{[]string{"a?b"}, "a/b", file, false},
	{[]string{"[abc].h"}, "b.h", file, true},
	{[]string{"[abc].h"}, "d.h", file, false},
	{[]string{"[!abc].h"}, "d.h", file, true},
	{[]string{"[^abc].h"}, "a.h", file, false},
	{[]string{"[a-c]x"}, "bx", file, true},
	{[]string{"[[:digit:]]*"}, "9lives", file, true},
	{[]string{"[[:upper:]]*"}, "lower", file, false},
	{[]string{"*.[oa]"}, "lib.a", file, true},
	{[]string{`[\]]x`}, "]x", file, true},
	{[]string{"[]a]x"}, "]x", file, true},
	{[]string{"Foo"}, "foo", file, false},
	// Double stars.
	{[]string{"**/foo"}, "foo", file, true},
	{[]string{"**/foo"}, "x/y/foo", file, true},
	{[]string{"foo/**"}, "foo/a/b", file, true},
	{[]string{"foo/**"}, "foo", dir, false},
	{[]string{"a/**/b"}, "a/b", file, true},
	{[]string{"a/**/b"}, "a/x/y/b", file, true},
	{[]string{"a/**/b"}, "c/a/x/b", file, false},
	{[]string{"**/build/*.o"}, "x/build/a.o", file, true},
	{[]string{"a**b"}, "axyb", file, true},
	{[]string{"foo**/bar"}, "fooab/x/bar", file, true},
	{[]string{"**"}, "a/b", file, true},
	{[]string{"**/b*[z]/c"}, "x/bq/y/bz/c", file, true},
	{[]string{"a/*/b"}, "a/x/y/b", file, false},
	// Directory-only patterns.
	{[]string{"logs/"}, "logs", dir, true},
	{[]string{"logs/"}, "logs", file, false},
	{[]string{"logs/"}, "logs", link, false},
	{[]string{"logs/"}, "a/logs", dir, true},
	{[]string{"logs/"}, "logs/x", file, true},
	{[]string{"a/b/"}, "a/b", file, false},
	// Negation, later rule wins, no re-include inside an excluded directory.
	{[]string{"*.log", "!keep.log"}, "keep.log", file, false},
	{[]string{"*.log", "!keep.log"}, "a.log", file, true},
	{[]string{"!keep.log", "*.log"}, "keep.log", file, true},
	{[]string{"build/", "!build/stage2cross"}, "build/stage2cross", dir, true},
	{[]string{"build/", "!build/stage2cross/x"}, "build/stage2cross/x", file, true},
	{[]string{"/build/**", "!/build/keep"}, "build/keep", file, false},
	{[]string{"*", "!*/", "!*.c"}, "src/a.c", file, false},
	{[]string{"*", "!*/", "!*.c"}, "src/a.h", file, true},
	{[]string{"dir/*", "!dir/sub/"}, "dir/sub/x", file, false},
}

func TestExcluded(t *testing.T) {
	for _, c := range ignoreCases {
		m, err := NewMatcher(c.rules)
		if err != nil {
			t.Fatalf("NewMatcher(%q): %v", c.rules, err)
		}
		if got := m.Excluded(c.path, c.kind == dir); got != c.want {
			t.Errorf("rules %q: Excluded(%q, %c) = %v, want %v", c.rules, c.path, c.kind, got, c.want)
		}
	}
}

// TestExcludedAgainstGit asks the real `git check-ignore` about every case of the table.
func TestExcludedAgainstGit(t *testing.T) {
	g := newGitChecker(t)
	for _, c := range ignoreCases {
		got := g.check(t, c.rules, []treePath{{c.path, c.kind}})
		if got[c.path] != c.want {
			t.Errorf("rules %q: git check-ignore %q (%c) = %v, table says %v", c.rules, c.path, c.kind, got[c.path], c.want)
		}
	}
}

// TestExcludedRandomAgainstGit compares Excluded with git for random rule sets over one
// random tree, so combinations nobody thought of are checked too.
func TestExcludedRandomAgainstGit(t *testing.T) {
	g := newGitChecker(t)
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "ab", "ba", "a.c", "b.o", "build", "foo", "x-1", "A"}
	var paths []treePath
	var grow func(parent string, depth int)
	grow = func(parent string, depth int) {
		for _, n := range names {
			if rng.IntN(2) != 0 {
				continue
			}
			p := n
			if parent != "" {
				p = parent + "/" + n
			}
			if depth < 4 && rng.IntN(2) == 0 {
				paths = append(paths, treePath{p, dir})
				grow(p, depth+1)
			} else {
				paths = append(paths, treePath{p, file})
			}
		}
	}
	grow("", 0)
	parts := []string{"a", "b", "ab", "*", "?", "a*", "*b", "*.c", "[ab]", "[!a]*", "**", "a?", "build", "foo", "[a-c]", "x-?", "*.[oc]", "a*[bc]", "*[.]*"}
	var ignored, total int
	for set := 0; set < 150; set++ {
		var rules []string
		for n := 1 + rng.IntN(4); n > 0; n-- {
			var comps []string
			for k := 1 + rng.IntN(3); k > 0; k-- {
				comps = append(comps, parts[rng.IntN(len(parts))])
			}
			r := strings.Join(comps, "/")
			if rng.IntN(5) == 0 {
				r = "/" + r
			}
			if rng.IntN(5) == 0 {
				r += "/"
			}
			if rng.IntN(4) == 0 {
				r = "!" + r
			}
			rules = append(rules, r)
		}
		m, err := NewMatcher(rules)
		if err != nil {
			t.Fatalf("NewMatcher(%q): %v", rules, err)
		}
		git := g.check(t, rules, paths)
		for _, p := range paths {
			if got := m.Excluded(p.path, p.kind == dir); got != git[p.path] {
				t.Errorf("rules %q: Excluded(%q, %c) = %v, git says %v", rules, p.path, p.kind, got, git[p.path])
			}
			if git[p.path] {
				ignored++
			}
			total++
		}
	}
	// The comparison only means something if git gives both answers often.
	if ignored < total/10 || ignored > total*9/10 {
		t.Errorf("git ignored %d of %d paths: the random rules are too one-sided", ignored, total)
	}
	t.Logf("%d paths, %d rule sets, git ignored %d of %d checks", len(paths), 150, ignored, total)
}

// TestMatchNoParentCheck shows the difference between Match and Excluded: Match looks at the
// path alone, as a walker that never enters excluded directories needs.
func TestMatchNoParentCheck(t *testing.T) {
	cases := []struct {
		rules         []string
		path          string
		isDir         bool
		match, exclud bool
	}{
		{seedRules, "build/stage1", true, true, true},
		{seedRules, "build/stage1/bin/clang", false, false, true},
		{seedRules, "build/stage2cross", true, false, false},
		{seedRules, ".git/HEAD", false, false, true},
		{[]string{"build/", "!build/keep"}, "build/keep", false, false, true},
		{[]string{"*.o"}, "a/b.o", false, true, true},
	}
	for _, c := range cases {
		m, err := NewMatcher(c.rules)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(c.path, c.isDir); got != c.match {
			t.Errorf("rules %q: Match(%q) = %v, want %v", c.rules, c.path, got, c.match)
		}
		if got := m.Excluded(c.path, c.isDir); got != c.exclud {
			t.Errorf("rules %q: Excluded(%q) = %v, want %v", c.rules, c.path, got, c.exclud)
		}
	}
}

func TestNilAndEmptyMatcher(t *testing.T) {
	var m *Matcher
	if m.Match("a", false) || m.Excluded("a/b", true) {
		t.Error("nil Matcher excludes something")
	}
	m, err := NewMatcher([]string{"", "   ", "# only comments"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Match("a", false) || m.Excluded("# only comments", false) {
		t.Error("Matcher without rules excludes something")
	}
}

func TestNewMatcherErrors(t *testing.T) {
	cases := []struct {
		rules []string
		index int
		want  string
	}{
		{[]string{"ok", "a[bc"}, 1, `exclude pattern 1 "a[bc": unterminated [ character class`},
		{[]string{"[[:alpha:]"}, 0, `exclude pattern 0 "[[:alpha:]": unterminated [ character class`},
		{[]string{"x", "y", "[[:vowel:]]"}, 2, `exclude pattern 2 "[[:vowel:]]": unknown character class [:vowel:]`},
		{[]string{`foo\`}, 0, `exclude pattern 0 "foo\\": trailing backslash escapes nothing`},
		{[]string{"!"}, 0, `exclude pattern 0 "!": pattern is empty`},
		{[]string{"/"}, 0, `exclude pattern 0 "/": pattern is empty`},
		{[]string{"!/"}, 0, `exclude pattern 0 "!/": pattern is empty`},
		{[]string{"a\nb"}, 0, `exclude pattern 0 "a\nb": contains a NUL or newline character`},
	}
	for _, c := range cases {
		_, err := NewMatcher(c.rules)
		var pe *PatternError
		if !errors.As(err, &pe) {
			t.Errorf("NewMatcher(%q) = %v, want a *PatternError", c.rules, err)
			continue
		}
		if pe.Index != c.index || err.Error() != c.want {
			t.Errorf("NewMatcher(%q) = %q (index %d), want %q (index %d)", c.rules, err, pe.Index, c.want, c.index)
		}
	}
	// Brackets that look odd but are complete are fine.
	for _, ok := range []string{"[]]", "[!]]", "[a-]", "[[:]", "[[:a]", `[\]]`, "a[]-]b", "[[:space:][:digit:]]"} {
		if _, err := NewMatcher([]string{ok}); err != nil {
			t.Errorf("NewMatcher(%q): %v", ok, err)
		}
	}
}

// TestRejectedPatternsNeverMatchInGit backs the claim that what NewMatcher rejects is
// something git would silently never match.
func TestRejectedPatternsNeverMatchInGit(t *testing.T) {
	g := newGitChecker(t)
	paths := []treePath{{"a", file}, {"abc", file}, {"a[bc", file}, {"foo", file}, {`foo\`, file}, {"x", dir}, {"x/y", file}}
	for _, bad := range []string{"a[bc", "[[:alpha:]", "[[:vowel:]]", `foo\`, "!", "/", "[", "a[!"} {
		if _, err := NewMatcher([]string{bad}); err == nil {
			t.Errorf("NewMatcher(%q) accepted it", bad)
		}
		for p, ignored := range g.check(t, []string{bad}, paths) {
			if ignored {
				t.Errorf("git ignores %q with the rejected pattern %q", p, bad)
			}
		}
	}
}

func FuzzMatcher(f *testing.F) {
	f.Add(strings.Join(seedRules, "\n"), "build/stage2cross/bin/clang", false)
	f.Add("a/**/b\n!a/x/b", "a/x/b", true)
	f.Add("[[:alpha:]-z]*\n*.[!o]", "q/x.c", false)
	f.Fuzz(func(t *testing.T, rules, path string, isDir bool) {
		m, err := NewMatcher(strings.Split(rules, "\n"))
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PatternError: %v", err)
			}
			return
		}
		match := m.Match(path, isDir)
		if match && !m.Excluded(path, isDir) {
			t.Fatalf("rules %q: Match(%q) but not Excluded", rules, path)
		}
	})
}

type treePath struct {
	path string
	kind byte
}

// gitChecker runs `git check-ignore` in throw-away work trees that share one repository, with
// every user and system setting kept out.
type gitChecker struct {
	gitDir string
	env    []string
	tmp    string

	n         int    // work trees made so far
	wt        string // the current work tree
	lastPaths string // the paths and kinds it holds
}

func newGitChecker(t *testing.T) *gitChecker {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Missing(t, "git not found (%v): the gitignore semantics are not checked against git", err)
	}
	tmp := t.TempDir()
	g := &gitChecker{gitDir: filepath.Join(tmp, "repo.git"), tmp: tmp}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			g.env = append(g.env, kv)
		}
	}
	g.env = append(g.env, "HOME="+tmp, "XDG_CONFIG_HOME="+tmp, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd := exec.Command("git", "init", "-q", "--template=", "--bare", g.gitDir)
	cmd.Env = g.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	return g
}

// check creates paths in a new work tree whose .gitignore holds rules and returns what git
// says about each path.
func (g *gitChecker) check(t *testing.T, rules []string, paths []treePath) map[string]bool {
	t.Helper()
	var stdin bytes.Buffer
	for _, p := range paths {
		stdin.WriteString(p.path)
		stdin.WriteByte(0)
	}
	// The same paths get the same work tree again; only .gitignore changes.
	key := fmt.Sprint(paths)
	if key != g.lastPaths {
		g.n++
		g.wt = filepath.Join(g.tmp, fmt.Sprintf("wt%d", g.n))
		g.lastPaths = key
		g.populate(t, paths)
	}
	wt := g.wt
	if err := os.WriteFile(filepath.Join(wt, ".gitignore"), []byte(strings.Join(rules, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "--git-dir="+g.gitDir, "--work-tree="+wt, "-C", wt,
		"check-ignore", "--no-index", "--stdin", "-z", "-v", "-n")
	cmd.Env = g.env
	cmd.Stdin = &stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("git check-ignore with rules %q: %v\n%s", rules, err, stderr.Bytes())
	}
	// With -z -v -n every path yields four fields: source, line, pattern, path.
	fields := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(fields) != 4*len(paths) {
		t.Fatalf("git check-ignore with rules %q: %d fields for %d paths: %q", rules, len(fields), len(paths), out)
	}
	got := make(map[string]bool, len(paths))
	for i := 0; i < len(fields); i += 4 {
		source, pattern, path := fields[i], fields[i+2], fields[i+3]
		got[path] = source != "" && !strings.HasPrefix(pattern, "!")
	}
	return got
}

func (g *gitChecker) populate(t *testing.T, paths []treePath) {
	t.Helper()
	for _, p := range paths {
		abs := filepath.Join(g.wt, filepath.FromSlash(p.path))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch p.kind {
		case dir:
			err = os.MkdirAll(abs, 0o755)
		case file:
			err = os.WriteFile(abs, nil, 0o644)
		case link:
			if err = os.MkdirAll(abs+".target", 0o755); err == nil {
				err = os.Symlink(filepath.Base(abs)+".target", abs)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
