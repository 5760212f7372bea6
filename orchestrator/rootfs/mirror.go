package rootfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNoMirror is returned (wrapped) by HostMirror when apt's sources name no Debian archive.
var ErrNoMirror = errors.New("no Debian mirror in apt's sources")

// ErrUnreachable is returned (wrapped) by Build when the mirror does not serve the suite.
var ErrUnreachable = errors.New("debian archive unreachable")

// aptSource is one deb source: a URI and its suites and components.
type aptSource struct {
	uri        string
	suites     []string
	components []string
	file       string
}

// HostMirror returns the Debian archive apt on this host installs suite from, read from
// etcApt/sources.list and etcApt/sources.list.d/*.list and *.sources (etcApt is /etc/apt on a
// real host). A source listing suite itself wins; otherwise the first source of some other
// release's main archive (neither -security nor -updates nor -backports) is used, since every
// Debian mirror carries every supported suite.
func HostMirror(etcApt, suite string) (string, error) {
	srcs, err := readSources(etcApt)
	if err != nil {
		return "", err
	}
	var fallback string
	for _, s := range srcs {
		if !strings.HasPrefix(s.uri, "http://") && !strings.HasPrefix(s.uri, "https://") && !strings.HasPrefix(s.uri, "file:") {
			continue
		}
		for _, su := range s.suites {
			if su == suite {
				return strings.TrimRight(s.uri, "/"), nil
			}
			if fallback == "" && !strings.Contains(su, "-") && !strings.Contains(s.uri, "security") && hasMain(s.components) {
				fallback = strings.TrimRight(s.uri, "/")
			}
		}
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", fmt.Errorf("rootfs: %w: %s/sources.list and %s/sources.list.d list no archive for %s (give the mirror explicitly, e.g. --mirror http://deb.debian.org/debian)", ErrNoMirror, etcApt, etcApt, suite)
}

func hasMain(comps []string) bool {
	for _, c := range comps {
		if c == "main" {
			return true
		}
	}
	return false
}

// readSources reads every enabled deb source in etcApt, in apt's order: sources.list, then
// sources.list.d's files by name.
func readSources(etcApt string) ([]aptSource, error) {
	var files []string
	if _, err := os.Stat(filepath.Join(etcApt, "sources.list")); err == nil {
		files = append(files, filepath.Join(etcApt, "sources.list"))
	}
	ents, err := os.ReadDir(filepath.Join(etcApt, "sources.list.d"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("rootfs: apt sources: %w", err)
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".list") || strings.HasSuffix(n, ".sources") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, filepath.Join(etcApt, "sources.list.d", n))
	}
	var all []aptSource
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("rootfs: apt sources: %w", err)
		}
		if strings.HasSuffix(f, ".sources") {
			all = append(all, parseDeb822(f, string(data))...)
		} else {
			all = append(all, parseOneLine(f, string(data))...)
		}
	}
	return all, nil
}

// parseOneLine parses sources.list lines: `deb [options] uri suite component...`.
func parseOneLine(file, text string) []aptSource {
	var out []aptSource
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options: up to the field that ends with "]".
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) == 0 {
				continue
			}
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, aptSource{uri: f[0], suites: []string{f[1]}, components: f[2:], file: file})
	}
	return out
}

// parseDeb822 parses a .sources file: paragraphs of Field: value lines, with continuation
// lines starting with white space and comments starting with #.
func parseDeb822(file, text string) []aptSource {
	var out []aptSource
	fields := map[string]string{}
	last := ""
	flush := func() {
		defer func() { fields = map[string]string{}; last = "" }()
		if !hasWord(fields["types"], "deb") || strings.EqualFold(strings.TrimSpace(fields["enabled"]), "no") {
			return
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			out = append(out, aptSource{uri: uri, suites: strings.Fields(fields["suites"]), components: strings.Fields(fields["components"]), file: file})
		}
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				fields[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// checkMirror fetches mirror/dists/suite/Release (or stats it for a file: mirror) and returns
// an error wrapping ErrUnreachable, naming the mirror, when that fails. HTTP goes through the
// proxy of the environment, as debootstrap's wget does.
func checkMirror(ctx context.Context, mirror, suite string) error {
	release := mirror + "/dists/" + suite + "/Release"
	u, err := url.Parse(release)
	if err != nil {
		return fmt.Errorf("rootfs: mirror %q: %w", mirror, err)
	}
	if u.Scheme == "file" {
		if _, err := os.Stat(u.Path); err != nil {
			return fmt.Errorf("rootfs: %w: %s has no %s: %w", ErrUnreachable, mirror, suite, err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, release, nil)
	if err != nil {
		return fmt.Errorf("rootfs: mirror %q: %w", mirror, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("rootfs: %w: %s: %w", ErrUnreachable, mirror, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rootfs: %w: GET %s: %s (does the mirror carry %s?)", ErrUnreachable, release, resp.Status, suite)
	}
	return nil
}
