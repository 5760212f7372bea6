// Package digest is the tree digest defined in DESIGN.md, shared by host and guest: sha256
// over one line per regular file (`path\0size\0sha256(content)\n`) and per symlink
// (`path\0link\0target\n`), fed in byte order of the slash-separated relative path. The host's
// tree walk (orchestrator/tree) and the guest agent's read-all both feed a Digester, so the
// Summaries they report can be compared directly. It imports nothing of the project.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
)

// Summary is what a digest walk reports. It is part of the guest's result events, so its
// JSON is part of the protocol.
type Summary struct {
	Files    int64  `json:"files"`
	Symlinks int64  `json:"symlinks"`
	Bytes    int64  `json:"bytes"`
	Digest   string `json:"digest"`
}

// Digester accumulates the digest of a tree, one entry at a time in path order.
type Digester struct {
	h                  hash.Hash
	files, links       int64
	bytes              int64
	last               string
	started, unordered bool
}

// New returns an empty Digester.
func New() *Digester { return &Digester{h: sha256.New()} }

// AddFile adds a regular file of the given size whose content hashes to sum.
func (d *Digester) AddFile(rel string, size int64, sum [sha256.Size]byte) {
	d.order(rel)
	io.WriteString(d.h, rel)
	io.WriteString(d.h, "\x00")
	io.WriteString(d.h, strconv.FormatInt(size, 10))
	io.WriteString(d.h, "\x00")
	io.WriteString(d.h, hex.EncodeToString(sum[:]))
	io.WriteString(d.h, "\n")
	d.files++
	d.bytes += size
}

// AddSymlink adds a symbolic link pointing at target.
func (d *Digester) AddSymlink(rel, target string) {
	d.order(rel)
	io.WriteString(d.h, rel)
	io.WriteString(d.h, "\x00link\x00")
	io.WriteString(d.h, target)
	io.WriteString(d.h, "\n")
	d.links++
}

func (d *Digester) order(rel string) {
	if d.started && rel <= d.last {
		d.unordered = true
	}
	d.started, d.last = true, rel
}

// Ordered reports whether every entry was added in strictly increasing path order, as the
// digest definition requires. A false value means the caller's walk is wrong.
func (d *Digester) Ordered() bool { return !d.unordered }

// Summary returns the counts and the hex digest of everything added so far.
func (d *Digester) Summary() Summary {
	return Summary{Files: d.files, Symlinks: d.links, Bytes: d.bytes, Digest: hex.EncodeToString(d.h.Sum(nil))}
}

// HashFile returns the sha256 of everything r yields and its length, using buf as the copy
// buffer so callers that hash many files reuse one allocation.
func HashFile(r io.Reader, buf []byte) (sum [sha256.Size]byte, n int64, err error) {
	h := sha256.New()
	n, err = io.CopyBuffer(h, r, buf)
	if err != nil {
		return sum, n, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}
