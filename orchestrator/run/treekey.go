package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"syscall"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// TreeKey is a fingerprint of the filtered tree from a stat walk, without reading a file:
// every entry's path, type and mode, size, owner, inode, modification and change time, and a
// symlink's target. An edit, a touch, a chmod or a file replaced by another changes it (the
// change time moves with each); reading the tree does not.
//
// It stands in for the run's tree fingerprint of the next shape (DESIGN.md, turn 3) and is
// meant to be replaced by it.
func TreeKey(ctx context.Context, root string, m *tree.Matcher) (string, error) {
	h := sha256.New()
	fi, err := os.Stat(root) // the images give their root the tree root's mode and owner
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		fmt.Fprintf(h, "%o\x00%d:%d\n", uint32(fi.Mode()), st.Uid, st.Gid)
	}
	err = tree.Walk(ctx, root, m, func(e tree.Entry) error {
		fi, err := os.Lstat(e.Abs)
		if err != nil {
			return fmt.Errorf("fingerprint: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%s", e.Rel, uint32(e.Mode), e.Size, e.Target)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			fmt.Fprintf(h, "\x00%d:%d\x00%d\x00%d.%d\x00%d.%d", st.Uid, st.Gid, st.Ino,
				st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
		}
		h.Write([]byte{'\n'})
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
