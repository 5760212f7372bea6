package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/sys/unix"
)

// untarBufSize is the copy buffer for file contents.
const untarBufSize = 1 << 20

// dirMeta is applied to a directory once everything inside it is written, since writing
// children changes its mtime and a read-only mode would stop them being written.
type dirMeta struct {
	path     string
	mode     fs.FileMode
	uid, gid int
	mtime    time.Time
}

// countingReader counts the bytes of the tar stream itself.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// extractTar extracts the tar stream r into dir until the end-of-archive marker, keeping
// modes, owners (when running as root), symlinks, hard links and mtimes. It returns the
// counts of regular files (hard links included), symlinks and content bytes, and the size of
// the stream read.
func extractTar(ctx context.Context, r io.Reader, dir string) (protocol.Result, int64, error) {
	start := time.Now()
	var res protocol.Result
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, 0, err
	}
	chown := os.Geteuid() == 0
	buf := make([]byte, untarBufSize)
	var dirs []dirMeta
	for {
		if err := ctx.Err(); err != nil {
			return res, cr.n, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, cr.n, fmt.Errorf("reading tar stream after %d bytes: %w", cr.n, err)
		}
		rel, err := cleanTarName(hdr.Name)
		if err != nil {
			return res, cr.n, err
		}
		target := filepath.Join(dir, rel)
		mode := hdr.FileInfo().Mode()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				if err := os.MkdirAll(target, 0o700); err != nil {
					return res, cr.n, err
				}
			}
			dirs = append(dirs, dirMeta{target, mode, hdr.Uid, hdr.Gid, hdr.ModTime})
			continue
		case tar.TypeReg:
			n, err := writeFile(target, tr, buf, hdr, mode, chown)
			if err != nil {
				return res, cr.n, err
			}
			res.Files++
			res.Bytes += n
		case tar.TypeSymlink:
			if err := replace(target, func() error { return os.Symlink(hdr.Linkname, target) }); err != nil {
				return res, cr.n, err
			}
			if chown {
				if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
					return res, cr.n, err
				}
			}
			res.Symlinks++
		case tar.TypeLink:
			old, err := cleanTarName(hdr.Linkname)
			if err != nil {
				return res, cr.n, err
			}
			if err := replace(target, func() error { return os.Link(filepath.Join(dir, old), target) }); err != nil {
				return res, cr.n, err
			}
			res.Files++
			continue // the link shares the inode: its metadata is already set
		default:
			return res, cr.n, fmt.Errorf("tar entry %s: unsupported type %q", hdr.Name, hdr.Typeflag)
		}
		if err := lchtimes(target, hdr.ModTime); err != nil {
			return res, cr.n, err
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if chown {
			if err := os.Lchown(d.path, d.uid, d.gid); err != nil {
				return res, cr.n, err
			}
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return res, cr.n, err
		}
		if err := lchtimes(d.path, d.mtime); err != nil {
			return res, cr.n, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, cr.n, nil
}

// writeFile writes one regular file, replacing whatever was at target.
func writeFile(target string, r io.Reader, buf []byte, hdr *tar.Header, mode fs.FileMode, chown bool) (int64, error) {
	var f *os.File
	err := replace(target, func() (err error) {
		f, err = os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		return err
	})
	if err != nil {
		return 0, err
	}
	n, err := io.CopyBuffer(f, r, buf)
	if err != nil {
		f.Close()
		return n, fmt.Errorf("extracting %s: %w", target, err)
	}
	// Owner before mode: chown clears the setuid and setgid bits.
	if chown {
		if err := f.Chown(hdr.Uid, hdr.Gid); err != nil {
			f.Close()
			return n, err
		}
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}

// replace runs create; if something already exists at p it removes it (not a directory tree)
// and tries again, and if the parent is missing it creates it first.
func replace(p string, create func() error) error {
	err := create()
	switch {
	case errors.Is(err, fs.ErrExist):
		if err := os.Remove(p); err != nil {
			return err
		}
		return create()
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return create()
	}
	return err
}

// cleanTarName makes a tar entry name relative to the target and refuses names with a ".."
// element, which could leave it.
func cleanTarName(name string) (string, error) {
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("tar entry %q: path leaves the target directory", name)
		}
	}
	c := path.Clean("/" + name)
	if c == "/" {
		return ".", nil
	}
	return filepath.FromSlash(c[1:]), nil
}

// lchtimes sets the access and modification time of p without following a symlink.
func lchtimes(p string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times of %s: %w", p, err)
	}
	return nil
}
