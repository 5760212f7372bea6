package tree

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Owner is the uid and gid every entry of a tar stream is given instead of its own.
type Owner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

// Output of WriteTar: tarBuffers buffers of tarBufSize bytes, filled in turn. Headers and
// file contents are read straight into the buffer being filled while a goroutine writes the
// previous one to w, so reading the tree and writing the stream overlap, and every write is
// a large one. A pipe w gets a buffer of tarPipeSize, where the kernel allows it.
const (
	tarBufSize  = 1 << 20
	tarBuffers  = 2
	tarPipeSize = 1 << 20
	tarBlock    = 512
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
// Names longer than ustar allows, and other values it cannot hold, get PAX records. The
// stream is byte for byte what archive/tar's Writer makes of the same headers.
//
// The Summary counts what DigestTree would: regular files (hard links included, each with
// its size), symlinks and content bytes; its Digest is empty. ctx is checked between
// entries; a writer that blocks must be unblocked by the caller (close the connection).
// WriteTar returns only once its last write to w has returned.
func WriteTar(ctx context.Context, w io.Writer, root string, m *Matcher, owner *Owner) (Summary, error) {
	var sum Summary
	growPipe(w)
	out := newTarOut(w)
	t := tarWriter{out: out, owner: owner, links: map[inode]string{}, sum: &sum}
	defer t.closeDirs()
	err := t.root(root)
	if err == nil {
		err = Walk(ctx, root, m, func(e Entry) error {
			switch {
			case e.Mode.IsDir():
				return t.dir(e)
			case e.Mode.IsRegular():
				return t.file(e)
			case e.Mode&fs.ModeSymlink != 0:
				return t.symlink(e)
			}
			return nil
		})
	}
	if err == nil {
		err = out.end()
	}
	if werr := out.close(err != nil); err == nil && werr != nil {
		err = werr
	}
	var we *tarWriteError
	if errors.As(err, &we) {
		err = fmt.Errorf("tar stream of %s: %w", root, we.err)
	}
	return sum, err
}

// growPipe gives a pipe w a larger kernel buffer, so that fewer, larger writes and reads
// cross it. Failing is harmless: the pipe keeps its size.
func growPipe(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	if size, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0); err == nil && size < tarPipeSize {
		unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, tarPipeSize)
	}
}

// inode identifies a file across the paths that link to it.
type inode struct{ dev, ino uint64 }

// tarWriter is the state of one WriteTar call.
type tarWriter struct {
	out   *tarOut
	owner *Owner
	links map[inode]string // the first name written for each inode with nlink > 1
	sum   *Summary
	// dirs holds an O_PATH descriptor of the root and of each directory on the path of the
	// last entry, so that entries are opened and stat'ed by their name in their directory:
	// the kernel then looks up one name instead of every component of an absolute path.
	dirs []tarDir
}

// tarDir is an open directory of the tree: rel is "" for the root.
type tarDir struct {
	rel string
	fd  int
}

// root writes the "./" entry, with lstat's metadata of root, and opens root.
func (t *tarWriter) root(root string) error {
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return fmt.Errorf("tar: lstat %s: %w", root, err)
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tar: open %s: %w", root, err)
	}
	t.dirs = append(t.dirs, tarDir{"", fd})
	return t.header(root, tar.TypeDir, "./", "", &st, 0)
}

// at returns where to find e: the descriptor of its directory and its name there, when that
// directory is open, else AT_FDCWD and its absolute path. Directories that are not on e's
// path any more are closed.
func (t *tarWriter) at(e Entry) (int, string) {
	parent, name := "", e.Rel
	if i := strings.LastIndexByte(e.Rel, '/'); i >= 0 {
		parent, name = e.Rel[:i], e.Rel[i+1:]
	}
	for len(t.dirs) > 1 && t.dirs[len(t.dirs)-1].rel != parent {
		unix.Close(t.dirs[len(t.dirs)-1].fd)
		t.dirs = t.dirs[:len(t.dirs)-1]
	}
	if len(t.dirs) == 0 || t.dirs[len(t.dirs)-1].rel != parent {
		return unix.AT_FDCWD, e.Abs
	}
	return t.dirs[len(t.dirs)-1].fd, name
}

func (t *tarWriter) closeDirs() {
	for _, d := range t.dirs {
		unix.Close(d.fd)
	}
	t.dirs = nil
}

// dir writes a directory and opens it for its entries.
func (t *tarWriter) dir(e Entry) error {
	dirfd, name := t.at(e)
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tar: open %s: %w", e.Abs, err)
	}
	t.dirs = append(t.dirs, tarDir{e.Rel, fd})
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("tar: fstat %s: %w", e.Abs, err)
	}
	return t.header(e.Abs, tar.TypeDir, e.Rel+"/", "", &st, 0)
}

func (t *tarWriter) symlink(e Entry) error {
	dirfd, name := t.at(e)
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("tar: lstat %s: %w", e.Abs, err)
	}
	t.sum.Symlinks++
	return t.header(e.Abs, tar.TypeSymlink, e.Rel, e.Target, &st, 0)
}

// file writes a regular file, or a hard link to where its inode was written before. The
// metadata comes from fstat of the open file, so it describes the bytes that are read. The
// file is read through its bare descriptor (an *os.File would cost an allocation and a
// failing epoll registration per file), straight into the output buffer.
func (t *tarWriter) file(e Entry) error {
	dirfd, name := t.at(e)
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW, 0)
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
			return t.header(e.Abs, tar.TypeLink, e.Rel, first, &st, 0)
		}
		t.links[id] = e.Rel
	}
	if err := t.header(e.Abs, tar.TypeReg, e.Rel, "", &st, st.Size); err != nil {
		return err
	}
	for done := int64(0); done < st.Size; {
		b, err := t.out.space()
		if err != nil {
			return err
		}
		b = b[:min(int64(len(b)), st.Size-done)]
		n, err := unix.Read(fd, b)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("tar: %s: %w", e.Abs, err)
		case n == 0:
			return fmt.Errorf("tar: %s: the file shrank while it was read (%d bytes by fstat, %d read)", e.Abs, st.Size, done)
		}
		t.out.advance(n)
		done += int64(n)
	}
	return t.out.pad(st.Size)
}

// header writes the header of one entry: a ustar block formatted here when ustar holds
// every field, as archive/tar would format it; otherwise archive/tar writes it, with the
// PAX records it needs. size is the content length that follows.
func (t *tarWriter) header(abs string, typ byte, name, link string, st *unix.Stat_t, size int64) error {
	uid, gid := int64(st.Uid), int64(st.Gid)
	if t.owner != nil {
		uid, gid = int64(t.owner.UID), int64(t.owner.GID)
	}
	mode, mtime := int64(st.Mode&0o7777), st.Mtim.Sec
	var prefix, base string
	ok := isASCII(name) && isASCII(link) && len(link) <= 100 &&
		fitsOctal(8, uid) && fitsOctal(8, gid) && fitsOctal(12, size) && fitsOctal(12, mtime)
	if ok {
		prefix, base, ok = ustarName(name)
	}
	if !ok {
		h := &tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: mode, Uid: int(uid), Gid: int(gid),
			Size: size, ModTime: time.Unix(mtime, 0)}
		// A Writer per header: its content and padding are written here, not through it.
		if err := tar.NewWriter(t.out).WriteHeader(h); err != nil {
			return fmt.Errorf("tar: header of %s: %w", abs, err)
		}
		return nil
	}
	b, err := t.out.block()
	if err != nil {
		return err
	}
	copy(b[0:100], base)
	putOctal(b[100:108], mode)
	putOctal(b[108:116], uid)
	putOctal(b[116:124], gid)
	putOctal(b[124:136], size)
	putOctal(b[136:148], mtime)
	b[156] = typ
	copy(b[157:257], link)
	copy(b[257:265], "ustar\x0000")
	putOctal(b[329:337], 0) // device major and minor
	putOctal(b[337:345], 0)
	copy(b[345:500], prefix)
	copy(b[148:156], "        ") // the checksum is summed with its own field as blanks
	// Only these ranges can hold anything but zeros.
	sum := byteSum(b[:len(base)]) + byteSum(b[100:157+len(link)]) + byteSum(b[257:265]) +
		byteSum(b[329:345+len(prefix)])
	putOctal(b[148:155], sum)
	return nil
}

func byteSum(b []byte) int64 {
	var n int64
	for _, c := range b {
		n += int64(c)
	}
	return n
}

// ustarName splits name into ustar's prefix and name fields as archive/tar does: whole when
// it fits the name field, else at the last slash that leaves at most 155 bytes before it
// and 100 after.
func ustarName(name string) (prefix, base string, ok bool) {
	if len(name) <= 100 {
		return "", name, true
	}
	n := len(name)
	if n > 156 {
		n = 156
	} else if name[n-1] == '/' {
		n--
	}
	i := strings.LastIndexByte(name[:n], '/')
	if i <= 0 || len(name)-i-1 > 100 || len(name)-i-1 == 0 || i > 155 {
		return "", "", false
	}
	return name[:i], name[i+1:], true
}

// isASCII reports whether s holds only ASCII characters other than NUL, which ustar fields
// can hold as archive/tar writes them.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// fitsOctal reports whether x fits a NUL-terminated octal field of n bytes.
func fitsOctal(n int, x int64) bool {
	return x >= 0 && x < 1<<(3*(n-1))
}

// putOctal writes x as zero-padded octal digits followed by a NUL, filling b.
func putOctal(b []byte, x int64) {
	var digits [24]byte
	s := strconv.AppendInt(digits[:0], x, 8)
	i := len(b) - 1 - len(s)
	for j := range i {
		b[j] = '0'
	}
	copy(b[i:], s)
	b[len(b)-1] = 0
}

// tarOut is WriteTar's output: a buffer being filled and a goroutine writing full ones.
type tarOut struct {
	buf  []byte      // being filled; cap tarBufSize
	full chan []byte // to the writing goroutine
	free chan []byte // written, back from it
	done chan struct{}
	stop atomic.Bool  // write nothing more: WriteTar failed
	err  atomic.Value // the first write error, a *tarWriteError
}

// tarWriteError is a failure of the caller's writer.
type tarWriteError struct{ err error }

func (e *tarWriteError) Error() string { return e.err.Error() }
func (e *tarWriteError) Unwrap() error { return e.err }

func newTarOut(w io.Writer) *tarOut {
	o := &tarOut{buf: make([]byte, 0, tarBufSize), full: make(chan []byte, tarBuffers),
		free: make(chan []byte, tarBuffers), done: make(chan struct{})}
	for range tarBuffers - 1 {
		o.free <- make([]byte, 0, tarBufSize)
	}
	go func() {
		defer close(o.done)
		for b := range o.full {
			if o.err.Load() == nil && !o.stop.Load() {
				if _, err := w.Write(b); err != nil {
					o.err.Store(&tarWriteError{err})
				}
			}
			o.free <- b[:0]
		}
	}()
	return o
}

// failed returns the writer's error, if it failed.
func (o *tarOut) failed() error {
	if err, ok := o.err.Load().(*tarWriteError); ok {
		return err
	}
	return nil
}

// flush hands the buffer to the writing goroutine and takes an empty one.
func (o *tarOut) flush() error {
	if err := o.failed(); err != nil {
		return err
	}
	if len(o.buf) > 0 {
		o.full <- o.buf
		o.buf = <-o.free
	}
	return nil
}

// space returns the unused rest of the buffer, flushing a full one first. advance then
// counts what was put there.
func (o *tarOut) space() ([]byte, error) {
	if len(o.buf) == cap(o.buf) {
		if err := o.flush(); err != nil {
			return nil, err
		}
	}
	return o.buf[len(o.buf):cap(o.buf)], nil
}

func (o *tarOut) advance(n int) { o.buf = o.buf[:len(o.buf)+n] }

// block returns a zeroed 512-byte block at the end of the output.
func (o *tarOut) block() ([]byte, error) {
	if cap(o.buf)-len(o.buf) < tarBlock {
		if err := o.flush(); err != nil {
			return nil, err
		}
	}
	n := len(o.buf)
	o.buf = o.buf[:n+tarBlock]
	b := o.buf[n:]
	clear(b)
	return b, nil
}

// Write appends p to the output (archive/tar writes its headers with it).
func (o *tarOut) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := o.space()
		if err != nil {
			return n, err
		}
		c := copy(b, p[n:])
		o.advance(c)
		n += c
	}
	return n, nil
}

// pad writes the zeros that end a content of size bytes at a block boundary.
func (o *tarOut) pad(size int64) error {
	for n := int(-size & (tarBlock - 1)); n > 0; {
		b, err := o.space()
		if err != nil {
			return err
		}
		b = b[:min(n, len(b))]
		clear(b)
		o.advance(len(b))
		n -= len(b)
	}
	return nil
}

// end writes the two zero blocks that end a tar stream and flushes.
func (o *tarOut) end() error {
	for range 2 {
		if _, err := o.block(); err != nil {
			return err
		}
	}
	return o.flush()
}

// close waits for the writing goroutine to finish (after dropping what is not written yet
// when abandon is set) and returns the writer's error.
func (o *tarOut) close(abandon bool) error {
	if abandon {
		o.stop.Store(true)
	}
	close(o.full)
	<-o.done
	return o.failed()
}
