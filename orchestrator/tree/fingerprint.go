package tree

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
)

// Stamp is what a Fingerprint holds of one entry of the tree: its lstat metadata, never its
// content. Any write, chmod, chown, rename or link changes at least its ctime.
type Stamp struct {
	Path   string // relative, slash-separated, as Walk gives it
	Mode   uint32 // st_mode: type and permission bits
	UID    uint32
	GID    uint32
	Size   int64 // 0 for a directory
	Mtime  int64 // nanoseconds since the epoch; 0 for a directory
	Ctime  int64 // nanoseconds since the epoch; 0 for a directory
	Target string
}

// A directory's size and times change with what is added to or removed from it, which its
// entries' own stamps already say: a directory's stamp is its mode and owner only.

// Fingerprint is a host-side record of a tree after its exclusions: a Stamp of every entry
// Walk visits, in Walk's order. Two fingerprints of a tree differ when anything in it was
// written, added, removed, renamed or had its mode or owner changed since, and taking one
// reads no file content, so it costs a walk (seconds for 160,000 entries).
type Fingerprint struct {
	Stamps []Stamp
}

// TakeFingerprint walks root with the exclusions of m and stamps every entry.
func TakeFingerprint(ctx context.Context, root string, m *Matcher) (*Fingerprint, error) {
	f := &Fingerprint{}
	err := Walk(ctx, root, m, func(e Entry) error {
		s := Stamp{Path: e.Rel, Target: e.Target}
		fi := e.Info
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("fingerprint: lstat %s: no stat_t", e.Abs)
		}
		s.Mode, s.UID, s.GID = uint32(st.Mode), st.Uid, st.Gid
		if !fi.IsDir() {
			s.Size, s.Mtime, s.Ctime = st.Size, st.Mtim.Nano(), st.Ctim.Nano()
		}
		f.Stamps = append(f.Stamps, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint %s: %w", root, err)
	}
	return f, nil
}

// fingerprintHeader starts the encoded form; its version names the encoding and the digest.
const fingerprintHeader = "vmfsbench tree fingerprint 1\n"

// line is the stamp's line of the encoded form and of the digest.
func (s Stamp) line() string {
	return fmt.Sprintf("%s %o %d %d %d %d %d %s\n", strconv.Quote(s.Path), s.Mode, s.UID, s.GID, s.Size, s.Mtime, s.Ctime, strconv.Quote(s.Target))
}

// Digest is a stable hex SHA-256 of the fingerprint (its encoding's version, then every
// stamp): equal digests mean the same tree as far as its metadata tells, so a cache of images
// built from the tree can be keyed on it.
func (f *Fingerprint) Digest() string {
	h := sha256.New()
	io.WriteString(h, fingerprintHeader)
	for _, s := range f.Stamps {
		io.WriteString(h, s.line())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Changes are the paths that differ between two fingerprints of a tree, each list in Walk's
// order.
type Changes struct {
	Changed []string `json:"changed,omitempty"` // in both, with another stamp
	Added   []string `json:"added,omitempty"`   // only in the later one
	Removed []string `json:"removed,omitempty"` // only in the earlier one
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return len(c.Changed)+len(c.Added)+len(c.Removed) == 0 }

// Count is the number of paths that changed.
func (c Changes) Count() int { return len(c.Changed) + len(c.Added) + len(c.Removed) }

// Brief names at most max of the paths, changed ones first, then the count of the rest:
// `changed "src/a.c", added "new.txt" and 3 more`.
func (c Changes) Brief(max int) string {
	var parts []string
	n := 0
	for _, l := range []struct {
		verb  string
		paths []string
	}{{"changed", c.Changed}, {"added", c.Added}, {"removed", c.Removed}} {
		for _, p := range l.paths {
			if n == max {
				break
			}
			parts = append(parts, l.verb+" "+strconv.Quote(p))
			n++
		}
	}
	s := strings.Join(parts, ", ")
	if rest := c.Count() - n; rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}

// Diff returns what changed from f to later. Both are in Walk's order, so one merge pass
// finds every difference.
func (f *Fingerprint) Diff(later *Fingerprint) Changes {
	var c Changes
	a, b := f.Stamps, later.Stamps
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && walkLess(a[i], b[j])):
			c.Removed = append(c.Removed, a[i].Path)
			i++
		case i == len(a) || walkLess(b[j], a[i]):
			c.Added = append(c.Added, b[j].Path)
			j++
		default:
			if a[i] != b[j] {
				c.Changed = append(c.Changed, a[i].Path)
			}
			i++
			j++
		}
	}
	return c
}

// walkLess orders stamps as Walk visits them: by path, a directory keyed as path+"/".
func walkLess(a, b Stamp) bool {
	ka, kb := a.Path, b.Path
	if a.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		ka += "/"
	}
	if b.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		kb += "/"
	}
	return ka < kb
}

// WriteTo writes f's encoded form, gzip-compressed: a header line, then one line per stamp.
func (f *Fingerprint) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	z := gzip.NewWriter(cw)
	bw := bufio.NewWriter(z)
	bw.WriteString(fingerprintHeader)
	for _, s := range f.Stamps {
		bw.WriteString(s.line())
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	err := z.Close()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadFingerprint reads what WriteTo wrote.
func ReadFingerprint(r io.Reader) (*Fingerprint, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	sc := bufio.NewScanner(z)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text()+"\n" != fingerprintHeader {
		return nil, fmt.Errorf("fingerprint: not a %q file", strings.TrimSpace(fingerprintHeader))
	}
	f := &Fingerprint{}
	for n := 2; sc.Scan(); n++ {
		s, err := parseStamp(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("fingerprint: line %d: %w", n, err)
		}
		f.Stamps = append(f.Stamps, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	return f, nil
}

func parseStamp(l string) (Stamp, error) {
	var s Stamp
	q, err := strconv.QuotedPrefix(l)
	if err != nil {
		return s, err
	}
	s.Path, _ = strconv.Unquote(q)
	rest := strings.TrimPrefix(l[len(q):], " ")
	f := strings.SplitN(rest, " ", 7)
	if len(f) != 7 {
		return s, fmt.Errorf("want 8 fields: %q", l)
	}
	mode, err1 := strconv.ParseUint(f[0], 8, 32)
	uid, err2 := strconv.ParseUint(f[1], 10, 32)
	gid, err3 := strconv.ParseUint(f[2], 10, 32)
	s.Size, err = strconv.ParseInt(f[3], 10, 64)
	mt, err4 := strconv.ParseInt(f[4], 10, 64)
	ct, err5 := strconv.ParseInt(f[5], 10, 64)
	t, err6 := strconv.Unquote(f[6])
	if err = errors.Join(err, err1, err2, err3, err4, err5, err6); err != nil {
		return s, fmt.Errorf("%q: %w", l, err)
	}
	s.Mode, s.UID, s.GID, s.Mtime, s.Ctime, s.Target = uint32(mode), uint32(uid), uint32(gid), mt, ct, t
	return s, nil
}
