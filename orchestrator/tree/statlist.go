package tree

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"syscall"
)

// statListBlocksOver is the size above which StatList lists a regular file's allocated blocks
// instead of hashing its content (sparse test files of gigabytes); its ctime still changes
// with any write.
const statListBlocksOver = 64 << 20

// StatList lists every entry under root, excluded ones too, the root itself first ("."), one
// line each: path, type and mode bits, owner, size, link count, device number, modification
// and change times to the nanosecond, and the SHA-256 of a regular file's content (its
// allocated blocks above 64 MiB) or a symlink's target. Two listings of a tree are equal
// exactly when nothing wrote to it: a write, chmod, chown, link or rename changes the ctime
// of what it touched. It is how the tests prove that a run left the host tree as it was.
func StatList(ctx context.Context, root string) ([]string, error) {
	line := func(rel, abs, target string) (string, error) {
		var st syscall.Stat_t
		if err := syscall.Lstat(abs, &st); err != nil {
			return "", err
		}
		sum := ""
		switch {
		case st.Mode&syscall.S_IFMT == syscall.S_IFLNK:
			sum = fmt.Sprintf("-> %q", target)
		case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		case st.Size > statListBlocksOver:
			sum = fmt.Sprintf("blocks %d", st.Blocks)
		default:
			f, err := os.Open(abs)
			if err != nil {
				return "", err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", err
			}
			sum = fmt.Sprintf("sha256 %x", h.Sum(nil))
		}
		return fmt.Sprintf("%q mode %o owner %d:%d size %d links %d rdev %d mtime %d.%09d ctime %d.%09d %s",
			rel, st.Mode, st.Uid, st.Gid, st.Size, st.Nlink, st.Rdev, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, sum), nil
	}
	first, err := line(".", root, "")
	if err != nil {
		return nil, fmt.Errorf("stat list: %w", err)
	}
	out := []string{first}
	err = Walk(ctx, root, nil, func(e Entry) error {
		l, err := line(e.Rel, e.Abs, e.Target)
		out = append(out, l)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("stat list: %w", err)
	}
	return out, nil
}

// StatListDiff returns what differs between two StatLists of a tree, as "-" lines of before
// and "+" lines of after (at most max of them, then a count); nil when they are equal.
func StatListDiff(before, after []string, max int) []string {
	in := func(l []string) map[string]bool {
		m := make(map[string]bool, len(l))
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	b, a := in(before), in(after)
	var out []string
	n := 0
	add := func(s string) {
		if n++; n <= max {
			out = append(out, s)
		}
	}
	for _, s := range before {
		if !a[s] {
			add("- " + s)
		}
	}
	for _, s := range after {
		if !b[s] {
			add("+ " + s)
		}
	}
	if n > max {
		out = append(out, fmt.Sprintf("and %d more", n-max))
	}
	return out
}
