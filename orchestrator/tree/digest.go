package tree

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/vmfsbench/vmfsbench/guestinit/digest"
)

// Summary is what a digest walk reports: the counts and the tree digest defined in DESIGN.md.
// The definition lives in guestinit/digest, which the guest agent shares.
type Summary = digest.Summary

// digestBufSize is the one read buffer DigestTree reuses for every file.
const digestBufSize = 256 << 10

// DigestTree walks root with the exclusions of m (nil: none) and returns the digest of the
// regular files and symlinks left; other types (FIFOs, sockets, devices) are ignored, and so
// are directories, whose only part in the digest is the paths of what they hold. It streams:
// one read buffer is reused for all files and memory does not grow with the tree.
func DigestTree(ctx context.Context, root string, m *Matcher) (Summary, error) {
	d := digest.New()
	buf := make([]byte, digestBufSize)
	err := Walk(ctx, root, m, func(e Entry) error {
		switch {
		case e.Mode.IsRegular():
			f, err := os.Open(e.Abs)
			if err != nil {
				return fmt.Errorf("digest: %w", err)
			}
			// Hide WriteTo: *os.File's would make io.CopyBuffer ignore buf and allocate its
			// own buffer for every file.
			sum, n, err := digest.HashFile(struct{ io.Reader }{f}, buf)
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
