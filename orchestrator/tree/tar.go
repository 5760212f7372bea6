package tree

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// Owner is the uid and gid every entry of a tar stream is given instead of its own.
type Owner struct {
	UID, GID int
}

// Buffer sizes of WriteTar: one copy buffer for every file's content, and an output buffer
// that gathers headers and small files into large writes (a pipe or socket then sees a few
// large writes instead of two small ones per file).
const (
	tarCopyBufSize = 1 << 20
	tarOutBufSize  = 256 << 10
)

// WriteTar writes the tree at root, without what m excludes (nil: nothing), to w as a tar
// stream, in Walk order: "./" for the root, then every directory, regular file, symlink and
// hard link with its mode bits (setuid, setgid and sticky included) and its mtime to the
// second (what GNU tar's default format keeps). A regular file whose inode was already
// written under another path becomes a hard link to that path; only inodes with more than
// one link are remembered, so memory stays flat in the size of the tree. Sockets, FIFOs and
// devices are left out, as the tree digest leaves them out.
//
// With owner nil every entry keeps its numeric uid and gid; otherwise every entry gets
// owner's. User and group names are never written, so the extracting side maps nothing.
// Names longer than ustar allows, and other values it cannot hold, get PAX records.
//
// The Summary counts what DigestTree would: regular files (hard links included, each with
// its size), symlinks and content bytes; its Digest is empty. ctx is checked between
// entries; a writer that blocks must be unblocked by the caller (close the connection).
func WriteTar(ctx context.Context, w io.Writer, root string, m *Matcher, owner *Owner) (Summary, error) {
	var sum Summary
	out := bufio.NewWriterSize(w, tarOutBufSize)
	tw := tar.NewWriter(out)
	t := tarWriter{tw: tw, owner: owner, buf: make([]byte, tarCopyBufSize), links: map[inode]string{}, sum: &sum}
	if err := t.dir(root, "./"); err != nil {
		return sum, err
	}
	err := Walk(ctx, root, m, func(e Entry) error {
		switch {
		case e.Mode.IsDir():
			return t.dir(e.Abs, e.Rel+"/")
		case e.Mode.IsRegular():
			return t.file(e)
		case e.Mode&fs.ModeSymlink != 0:
			return t.symlink(e)
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	if err := tw.Close(); err != nil {
		return sum, fmt.Errorf("tar stream of %s: %w", root, err)
	}
	if err := out.Flush(); err != nil {
		return sum, fmt.Errorf("tar stream of %s: %w", root, err)
	}
	return sum, nil
}

// inode identifies a file across the paths that link to it.
type inode struct{ dev, ino uint64 }

// tarWriter is the state of one WriteTar call.
type tarWriter struct {
	tw    *tar.Writer
	owner *Owner
	buf   []byte
	links map[inode]string // the first name written for each inode with nlink > 1
	sum   *Summary
}

// header returns a header for name with the metadata of st.
func (t *tarWriter) header(typ byte, name string, st *unix.Stat_t) *tar.Header {
	h := &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(st.Mode & 0o7777),
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		// Whole seconds, and truncated: left to the writer they would be rounded.
		ModTime: time.Unix(st.Mtim.Sec, 0),
	}
	if t.owner != nil {
		h.Uid, h.Gid = t.owner.UID, t.owner.GID
	}
	return h
}

func (t *tarWriter) dir(abs, name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		return fmt.Errorf("tar: lstat %s: %w", abs, err)
	}
	return t.write(abs, t.header(tar.TypeDir, name, &st))
}

func (t *tarWriter) symlink(e Entry) error {
	var st unix.Stat_t
	if err := unix.Lstat(e.Abs, &st); err != nil {
		return fmt.Errorf("tar: lstat %s: %w", e.Abs, err)
	}
	h := t.header(tar.TypeSymlink, e.Rel, &st)
	h.Linkname = e.Target
	t.sum.Symlinks++
	return t.write(e.Abs, h)
}

// file writes a regular file, or a hard link to where its inode was written before. The
// metadata comes from fstat of the open file, so it describes the bytes that are read. The
// file is read through its bare descriptor: an *os.File would cost an allocation and a
// failing epoll registration per file.
func (t *tarWriter) file(e Entry) error {
	fd, err := unix.Open(e.Abs, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("tar: open %s: %w", e.Abs, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("tar: fstat %s: %w", e.Abs, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("tar: %s: no longer a regular file (the tree changed during the walk)", e.Abs)
	}
	t.sum.Files++
	t.sum.Bytes += st.Size
	if st.Nlink > 1 {
		id := inode{uint64(st.Dev), st.Ino}
		if first, ok := t.links[id]; ok {
			h := t.header(tar.TypeLink, e.Rel, &st)
			h.Linkname = first
			return t.write(e.Abs, h)
		}
		t.links[id] = e.Rel
	}
	h := t.header(tar.TypeReg, e.Rel, &st)
	h.Size = st.Size
	if err := t.write(e.Abs, h); err != nil {
		return err
	}
	n, err := io.CopyBuffer(t.tw, io.LimitReader(fdReader(fd), st.Size), t.buf)
	if err != nil {
		return fmt.Errorf("tar: %s: %w", e.Abs, err)
	}
	if n != st.Size {
		return fmt.Errorf("tar: %s: the file shrank while it was read (%d bytes by fstat, %d read)", e.Abs, st.Size, n)
	}
	return nil
}

// fdReader reads a file descriptor with read(2).
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (t *tarWriter) write(abs string, h *tar.Header) error {
	if err := t.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("tar: header of %s: %w", abs, err)
	}
	return nil
}
