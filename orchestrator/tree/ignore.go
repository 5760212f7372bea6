package tree

import (
	"fmt"
	"strings"
)

// A Matcher holds exclusion rules with the semantics of one .gitignore file at the root of
// the tree: blank lines and `#` comments are skipped, `\` escapes the next character,
// unescaped trailing spaces are trimmed, a pattern with a slash at its start or in its middle
// is anchored at the root (otherwise it matches a name at any depth), `*`, `?`, `[...]` and
// `**` work as in git, a trailing `/` matches directories only, `!` re-includes, and the last
// matching rule wins. The matching code follows git's dir.c and wildmatch.c (git 2.39) and the
// tests compare it with `git check-ignore`.
//
// Where git silently keeps a pattern that can never match (an unterminated `[`, an unknown
// `[:class:]`, a trailing backslash, a pattern that is empty after `!` or `/`), NewMatcher
// reports an error instead, so a typo in a spec does not quietly change what is benchmarked.
type Matcher struct {
	rules []rule
}

type rule struct {
	pattern  string // without `!`, without the trailing `/`, and without the leading `/`
	prefix   int    // length of the leading part of pattern without glob characters
	negative bool   // `!pattern`: re-include
	dirOnly  bool   // `pattern/`: matches directories only
	basename bool   // no slash: match the last path component at any depth
	endsWith bool   // `*literal` basename pattern: a suffix comparison is enough
}

// PatternError reports an exclusion pattern that cannot be used. Index is the pattern's
// position in the list given to NewMatcher, so a caller that read the list from a file can
// turn it into file:line.
type PatternError struct {
	Index   int
	Pattern string
	Reason  string
}

// Error implements error.
func (e *PatternError) Error() string {
	return fmt.Sprintf("exclude pattern %d %q: %s", e.Index, e.Pattern, e.Reason)
}

// NewMatcher compiles gitignore-style patterns, one per element, as if they were the lines of
// a .gitignore at the tree root. An invalid pattern is a *PatternError naming the pattern and
// its index.
func NewMatcher(patterns []string) (*Matcher, error) {
	m := &Matcher{}
	for i, line := range patterns {
		r, ok, reason := parseRule(line)
		if reason != "" {
			return nil, &PatternError{Index: i, Pattern: line, Reason: reason}
		}
		if ok {
			m.rules = append(m.rules, r)
		}
	}
	return m, nil
}

// parseRule turns one line into a rule. ok is false for a line that holds no rule (blank or
// comment); a non-empty reason means the line is invalid.
func parseRule(line string) (r rule, ok bool, reason string) {
	if strings.ContainsAny(line, "\x00\n") {
		return r, false, "contains a NUL or newline character"
	}
	// git reads .gitignore line by line and drops one CR of a CRLF line ending.
	line = strings.TrimSuffix(line, "\r")
	if line == "" || line[0] == '#' {
		return r, false, ""
	}
	line = trimTrailingSpaces(line)
	if line == "" {
		return r, false, ""
	}
	p := line
	if p[0] == '!' {
		r.negative = true
		p = p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly = true
		p = p[:len(p)-1]
	}
	r.basename = !strings.Contains(p, "/")
	prefix := simpleLength(p)
	if !r.basename && p != "" && p[0] == '/' {
		p = p[1:]
		prefix--
	}
	if p == "" {
		return r, false, "pattern is empty"
	}
	if reason := validatePattern(p); reason != "" {
		return r, false, reason
	}
	r.pattern, r.prefix = p, prefix
	r.endsWith = r.basename && p[0] == '*' && simpleLength(p[1:]) == len(p)-1
	return r, true, ""
}

// trimTrailingSpaces removes trailing spaces unless they are escaped with a backslash, as
// git's trim_trailing_spaces does (only ' ', not tabs).
func trimTrailingSpaces(s string) string {
	lastSpace := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if lastSpace < 0 {
				lastSpace = i
			}
		case '\\':
			i++
			if i >= len(s) {
				return s
			}
			lastSpace = -1
		default:
			lastSpace = -1
		}
	}
	if lastSpace >= 0 {
		return s[:lastSpace]
	}
	return s
}

func isGlobSpecial(c byte) bool { return c == '*' || c == '?' || c == '[' || c == '\\' }

// simpleLength is the length of the leading part of s without glob characters.
func simpleLength(s string) int {
	for i := 0; i < len(s); i++ {
		if isGlobSpecial(s[i]) {
			return i
		}
	}
	return len(s)
}

// validatePattern parses p the way wildmatch would and reports constructs with which git's
// matcher aborts, so the pattern could never match anything.
func validatePattern(p string) string {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				return "trailing backslash escapes nothing"
			}
			i++
		case '[':
			end, reason := scanClass(p, i)
			if reason != "" {
				return reason
			}
			i = end
		}
	}
	return ""
}

// scanClass walks the bracket expression that starts at p[open] exactly like the class code
// of wildmatch, without a text, and returns the index of its closing `]`.
func scanClass(p string, open int) (end int, reason string) {
	const unterminated = "unterminated [ character class"
	i := open + 1
	c := at(p, i)
	if c == '^' || c == '!' {
		i++
		c = at(p, i)
	}
	var prev byte
	for {
		if c == 0 {
			return 0, unterminated
		}
		switch {
		case c == '\\':
			i++
			if c = at(p, i); c == 0 {
				return 0, unterminated
			}
		case c == '-' && prev != 0 && at(p, i+1) != 0 && at(p, i+1) != ']':
			i++
			if c = at(p, i); c == '\\' {
				i++
				if at(p, i) == 0 {
					return 0, unterminated
				}
			}
			c = 0
		case c == '[' && at(p, i+1) == ':':
			s := i + 2
			j := s
			for at(p, j) != 0 && at(p, j) != ']' {
				j++
			}
			if at(p, j) == 0 {
				return 0, unterminated
			}
			if n := j - s - 1; n < 0 || p[j-1] != ':' {
				c = '[' // not a [:class:]: the '[' is an ordinary member
				break
			}
			if _, ok := charClasses[p[s:j-1]]; !ok {
				return 0, fmt.Sprintf("unknown character class [:%s:]", p[s:j-1])
			}
			i = j
			c = 0
		}
		prev = c
		i++
		if c = at(p, i); c == ']' {
			return i, ""
		}
	}
}

// at returns s[i], or 0 past the end, standing in for C's terminating NUL.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// charClasses are the POSIX classes wildmatch knows, with git's ASCII-only ctype.
var charClasses = map[string]func(c byte) bool{
	"alnum":  func(c byte) bool { return isAlpha(c) || isDigit(c) },
	"alpha":  isAlpha,
	"blank":  func(c byte) bool { return c == ' ' || c == '\t' },
	"cntrl":  func(c byte) bool { return c < 0x20 || c == 0x7f },
	"digit":  isDigit,
	"graph":  func(c byte) bool { return c > 0x20 && c < 0x7f },
	"lower":  func(c byte) bool { return c >= 'a' && c <= 'z' },
	"print":  func(c byte) bool { return c >= 0x20 && c < 0x7f },
	"punct":  func(c byte) bool { return c > 0x20 && c < 0x7f && !isAlpha(c) && !isDigit(c) },
	"space":  func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' },
	"upper":  func(c byte) bool { return c >= 'A' && c <= 'Z' },
	"xdigit": func(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' },
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Match reports whether the rules exclude rel itself, without looking at its parent
// directories (a walker that never enters excluded directories needs no more). rel is
// slash-separated and relative to the root, without a leading slash; isDir says whether it
// names a directory (a symlink to a directory is not one). A nil *Matcher excludes nothing.
func (m *Matcher) Match(rel string, isDir bool) bool {
	if m == nil || rel == "" {
		return false
	}
	base := rel[strings.LastIndexByte(rel, '/')+1:]
	for i := len(m.rules) - 1; i >= 0; i-- {
		r := &m.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var hit bool
		if r.basename {
			hit = r.matchBasename(base)
		} else {
			hit = r.matchPathname(rel)
		}
		if hit {
			return !r.negative
		}
	}
	return false
}

// Excluded reports whether rel is excluded, either by a rule or because one of its parent
// directories is; this is what `git check-ignore` answers. As in git, a path inside an
// excluded directory cannot be re-included by a later `!` rule.
func (m *Matcher) Excluded(rel string, isDir bool) bool {
	if m == nil {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && m.Match(rel[:i], true) {
			return true
		}
	}
	return m.Match(rel, isDir)
}

func (r *rule) matchBasename(base string) bool {
	switch {
	case r.prefix == len(r.pattern):
		return base == r.pattern
	case r.endsWith:
		return strings.HasSuffix(base, r.pattern[1:])
	default:
		return wildmatch(r.pattern, base)
	}
}

// matchPathname follows git's match_pathname: the literal prefix is compared first and
// wildmatch sees only the rest, which matters for `**` right after the prefix.
func (r *rule) matchPathname(name string) bool {
	pat := r.pattern
	if r.prefix > 0 {
		if r.prefix > len(name) || name[:r.prefix] != pat[:r.prefix] {
			return false
		}
		pat, name = pat[r.prefix:], name[r.prefix:]
		if pat == "" && name == "" {
			return true
		}
	}
	return wildmatch(pat, name)
}

const (
	wmMatch           = 0
	wmNoMatch         = 1
	wmAbortAll        = -1
	wmAbortToStarStar = -2
)

// wildmatch is git's wildmatch with WM_PATHNAME: `*`, `?` and classes never match a slash,
// and `**` between slashes (or at either end) matches across directories.
func wildmatch(pattern, text string) bool { return dowild(pattern, 0, text, 0) == wmMatch }

func dowild(pat string, p int, text string, t int) int {
	start := p
	for ; p < len(pat); p, t = p+1, t+1 {
		pc := pat[p]
		tc := at(text, t)
		if tc == 0 && pc != '*' {
			return wmAbortAll
		}
		switch pc {
		case '\\':
			p++
			if tc != at(pat, p) {
				return wmNoMatch
			}
		default:
			if tc != pc {
				return wmNoMatch
			}
		case '?':
			if tc == '/' {
				return wmNoMatch
			}
		case '*':
			var matchSlash bool
			p++
			if at(pat, p) == '*' {
				prev := p - 2
				for p++; at(pat, p) == '*'; p++ {
				}
				c := at(pat, p)
				if (prev < start || pat[prev] == '/') &&
					(c == 0 || c == '/' || (c == '\\' && at(pat, p+1) == '/')) {
					if c == '/' && dowild(pat, p+1, text, t) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				}
			}
			if p >= len(pat) {
				// A trailing "**" matches everything, a trailing "*" only what has no slash.
				if !matchSlash && strings.IndexByte(text[t:], '/') >= 0 {
					return wmNoMatch
				}
				return wmMatch
			}
			if !matchSlash && pat[p] == '/' {
				// One star followed by a slash matches up to the next directory.
				slash := strings.IndexByte(text[t:], '/')
				if slash < 0 {
					return wmNoMatch
				}
				t += slash // the slash itself is consumed by the loop
				break
			}
			for {
				if tc == 0 {
					break
				}
				if pc := pat[p]; !isGlobSpecial(pc) {
					// Skip ahead to the next occurrence of the literal after the star.
					for tc = at(text, t); tc != 0 && (matchSlash || tc != '/'); tc = at(text, t) {
						if tc == pc {
							break
						}
						t++
					}
					if tc != pc {
						return wmNoMatch
					}
				}
				if matched := dowild(pat, p, text, t); matched != wmNoMatch {
					if !matchSlash || matched != wmAbortToStarStar {
						return matched
					}
				} else if !matchSlash && tc == '/' {
					return wmAbortToStarStar
				}
				t++
				tc = at(text, t)
			}
			return wmAbortAll
		case '[':
			p++
			c := at(pat, p)
			if c == '^' {
				c = '!'
			}
			negated := c == '!'
			if negated {
				p++
				c = at(pat, p)
			}
			var prev byte
			matched := false
			for {
				if c == 0 {
					return wmAbortAll
				}
				switch {
				case c == '\\':
					p++
					if c = at(pat, p); c == 0 {
						return wmAbortAll
					}
					if tc == c {
						matched = true
					}
				case c == '-' && prev != 0 && at(pat, p+1) != 0 && at(pat, p+1) != ']':
					p++
					if c = at(pat, p); c == '\\' {
						p++
						if c = at(pat, p); c == 0 {
							return wmAbortAll
						}
					}
					if tc <= c && tc >= prev {
						matched = true
					}
					c = 0
				case c == '[' && at(pat, p+1) == ':':
					s := p + 2
					p = s
					for at(pat, p) != 0 && at(pat, p) != ']' {
						p++
					}
					if at(pat, p) == 0 {
						return wmAbortAll
					}
					if n := p - s - 1; n < 0 || pat[p-1] != ':' {
						// Not a [:class:]: treat the '[' as an ordinary member.
						p = s - 2
						c = '['
						if tc == c {
							matched = true
						}
						break
					}
					class, ok := charClasses[pat[s:p-1]]
					if !ok {
						return wmAbortAll
					}
					if class(tc) {
						matched = true
					}
					c = 0
				default:
					if tc == c {
						matched = true
					}
				}
				prev = c
				p++
				if c = at(pat, p); c == ']' {
					break
				}
			}
			if matched == negated || tc == '/' {
				return wmNoMatch
			}
		}
	}
	if t < len(text) {
		return wmNoMatch
	}
	return wmMatch
}
