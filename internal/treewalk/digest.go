package treewalk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
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

// NewDigester returns an empty Digester.
func NewDigester() *Digester { return &Digester{h: sha256.New()} }

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

// digestBufSize is the one read buffer DigestTree reuses for every file.
const digestBufSize = 256 << 10

// DigestTree walks root without what ex excludes (nil: nothing) and returns the digest of the
// regular files and symlinks left; other types (FIFOs, sockets, devices) are ignored, and so
// are directories, whose only part in the digest is the paths of what they hold. It streams:
// one read buffer is reused for all files and memory does not grow with the tree.
func DigestTree(ctx context.Context, root string, ex Excluder) (Summary, error) {
	d := NewDigester()
	buf := make([]byte, digestBufSize)
	err := Walk(ctx, root, ex, func(e Entry) error {
		switch {
		case e.Mode.IsRegular():
			f, err := os.Open(e.Abs)
			if err != nil {
				return fmt.Errorf("digest: %w", err)
			}
			// Hide WriteTo: *os.File's would make io.CopyBuffer ignore buf and allocate its
			// own buffer for every file.
			sum, n, err := HashFile(struct{ io.Reader }{f}, buf)
			f.Close()
			if err != nil {
				return fmt.Errorf("digest %s: %w", e.Abs, err)
			}
			if n != e.Size {
				return fmt.Errorf("digest %s: the file changed during the walk (%d bytes by lstat, %d read)", e.Abs, e.Size, n)
			}
			d.AddFile(e.Rel, n, sum)
		case e.Mode&os.ModeSymlink != 0:
			d.AddSymlink(e.Rel, e.Target)
		}
		return nil
	})
	if err != nil {
		return Summary{}, err
	}
	if !d.Ordered() {
		return Summary{}, fmt.Errorf("digest %s: entries were not in path order (was the tree changed during the walk?)", root)
	}
	return d.Summary(), nil
}
