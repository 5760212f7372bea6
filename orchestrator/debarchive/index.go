// Package debarchive takes files from a Debian archive without apt: a suite's indexes
// (Packages, Sources), downloads checked against the sha256 the index gives, and roots of
// unpacked binary packages in the user cache that run a newer Debian's program on this host
// through their own loader (see Root).
package debarchive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
)

// Stanza is one paragraph of an index, by field; a multi-line field keeps its continuation
// lines.
type Stanza map[string]string

// Index downloads an xz-compressed Debian index (Sources.xz or Packages.xz) and returns its
// stanzas by their Package field.
func Index(ctx context.Context, url string) (map[string]Stanza, error) {
	body, err := get(ctx, url)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	cmd := exec.CommandContext(ctx, "xz", "-dc")
	cmd.Stdin = body
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("debian archive: %s: xz -dc: %w", url, err)
	}
	return ParseIndex(out), nil
}

// PackagesURL is the Packages index of suite's component for the Debian arch darch.
func PackagesURL(mirror, suite, component, darch string) string {
	return mirror + "/dists/" + suite + "/" + component + "/binary-" + darch + "/Packages.xz"
}

// ParseIndex splits a Debian control-file index into stanzas keyed by Package. Of several
// stanzas of one package (versions), the first is kept.
func ParseIndex(data []byte) map[string]Stanza {
	out := map[string]Stanza{}
	cur, last := Stanza{}, ""
	flush := func() {
		if p := cur["Package"]; p != "" {
			if _, seen := out[p]; !seen {
				out[p] = cur
			}
		}
		cur, last = Stanza{}, ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += "\n" + strings.TrimSpace(line)
			}
		default:
			k, v, _ := strings.Cut(line, ":")
			last = k
			cur[k] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// Fetch downloads url to dst unless dst is there with the right sha256; a download whose
// sha256 differs is refused and removed. dst appears whole or not at all.
func Fetch(ctx context.Context, url, dst, sum string) error {
	if have, err := fileSHA256(dst); err == nil && have == sum {
		return nil
	}
	body, err := get(ctx, url)
	if err != nil {
		return err
	}
	defer body.Close()
	h := sha256.New()
	return atomicfile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(io.MultiWriter(w, h), body)
		if err == nil && hex.EncodeToString(h.Sum(nil)) != sum {
			err = fmt.Errorf("debian archive: %s: sha256 %x, the index says %s", url, h.Sum(nil), sum)
		}
		return err
	})
}

func get(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("debian archive: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("debian archive: GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
