// Package initramfs builds the guest's initramfs: newc cpio archives holding the agent as
// /init, the kernel modules a cell needs (resolved through modules.dep), the agent's load list
// and optional extras. Archives are reproducible (sorted, parents first, zero times, uid/gid 0,
// inodes numbered in order) so a cached base archive is reused byte for byte, and a small
// per-cell archive with the job is appended to it: the kernel unpacks concatenated newc
// archives as one.
package initramfs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
)

// File is one entry of an archive.
type File struct {
	// Name is the path in the guest; a leading slash is optional (/init and init are alike).
	Name string
	// Mode gives the permission bits (0644 for files and 0755 for directories when zero) and,
	// through fs.ModeDir, makes the entry a directory.
	Mode fs.FileMode
	// Data is the content of a regular file, unless Src is set.
	Data []byte
	// Src is a host file whose content is copied. A module compressed with xz, zstd or gzip
	// (name ending in .ko.xz, .ko.zst or .ko.gz) is decompressed and stored as plain .ko, so the
	// guest's finit_module never sees a compressed module.
	Src string
	// Link, when set, makes the entry a symbolic link to this target.
	Link string
}

// entry is a File resolved for writing: clean relative name, cpio mode, content source.
type entry struct {
	name string
	mode cpio.FileMode
	data []byte // content when src is ""
	src  string // host file, copied (or decompressed) at write time
	link string
}

// compressed maps a compressed module suffix to its decompressor.
var compressed = map[string]func(io.Reader) (io.Reader, error){
	".ko.xz": func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) },
	".ko.zst": func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	},
	".ko.gz": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
}

// compression returns the compressed-module suffix of name, or "".
func compression(name string) string {
	for s := range compressed {
		if strings.HasSuffix(name, s) {
			return s
		}
	}
	return ""
}

// cleanName makes an archive name relative and clean, refusing names that leave the root.
func cleanName(name string) (string, error) {
	n := path.Clean("/" + filepath.ToSlash(name))[1:]
	if n == "" || strings.Contains(name, "\x00") {
		return "", fmt.Errorf("archive entry %q: not a file name", name)
	}
	for _, el := range strings.Split(filepath.ToSlash(name), "/") {
		if el == ".." {
			return "", fmt.Errorf("archive entry %q: names may not contain ..", name)
		}
	}
	return n, nil
}

// resolve turns files into sorted entries with every missing parent directory added.
func resolve(files []File) ([]entry, error) {
	byName := map[string]entry{}
	for _, f := range files {
		name, err := cleanName(f.Name)
		if err != nil {
			return nil, err
		}
		e := entry{name: name, data: f.Data, src: f.Src, link: f.Link}
		perm := cpio.FileMode(f.Mode.Perm())
		if f.Mode&fs.ModeSetuid != 0 {
			perm |= cpio.ModeSetuid
		}
		if f.Mode&fs.ModeSetgid != 0 {
			perm |= cpio.ModeSetgid
		}
		if f.Mode&fs.ModeSticky != 0 {
			perm |= cpio.ModeSticky
		}
		switch {
		case f.Link != "" || f.Mode&fs.ModeSymlink != 0:
			if f.Link == "" {
				return nil, fmt.Errorf("archive entry %q: symlink without a target", f.Name)
			}
			e.mode = cpio.TypeSymlink | 0o777
		case f.Mode.IsDir():
			if perm == 0 {
				perm = 0o755
			}
			e.mode = cpio.TypeDir | perm
		case f.Mode.Type() == 0:
			if perm == 0 {
				perm = 0o644
			}
			e.mode = cpio.TypeReg | perm
			// A decompressed module is stored under the name the guest loader expects.
			if compression(f.Src) != "" {
				if cs := compression(e.name); cs != "" {
					e.name = strings.TrimSuffix(e.name, cs) + ".ko"
				}
			}
		default:
			return nil, fmt.Errorf("archive entry %q: unsupported file type %v (device nodes come from devtmpfs)", f.Name, f.Mode.Type())
		}
		if (e.mode&cpio.ModeType != cpio.TypeReg) && (len(f.Data) > 0 || f.Src != "") {
			return nil, fmt.Errorf("archive entry %q: only regular files have content", f.Name)
		}
		if _, dup := byName[e.name]; dup {
			return nil, fmt.Errorf("archive entry %q: listed twice", e.name)
		}
		byName[e.name] = e
	}
	for name := range byName {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if p, ok := byName[d]; ok {
				if p.mode&cpio.ModeType != cpio.TypeDir {
					return nil, fmt.Errorf("archive entry %q: parent %q is not a directory", name, d)
				}
				continue
			}
			byName[d] = entry{name: d, mode: cpio.TypeDir | 0o755}
		}
	}
	out := make([]entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	// A parent is a prefix of its children, so byte order puts parents first.
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// Write writes files to w as a reproducible newc archive: entries sorted by name with missing
// parent directories (0755) added before their children, modification times 0, uid and gid 0,
// inode numbers counting up from 1 in that order.
func Write(w io.Writer, files []File) error {
	return writeArchive(w, files, 1)
}

func writeArchive(w io.Writer, files []File, firstInode int64) error {
	entries, err := resolve(files)
	if err != nil {
		return err
	}
	cw := cpio.NewWriter(w)
	for i, e := range entries {
		body, err := e.content()
		if err != nil {
			return err
		}
		// A fresh Header for every entry: WriteHeader modifies the one it gets. Checksum stays
		// unset, which keeps the 070701 magic.
		h := &cpio.Header{
			Name:  e.name,
			Mode:  e.mode,
			Size:  int64(len(body)),
			Inode: firstInode + int64(i),
			Links: 1,
		}
		if e.mode&cpio.ModeType == cpio.TypeDir {
			h.Links = 2
		}
		if err := cw.WriteHeader(h); err != nil {
			return fmt.Errorf("archive entry %q: %w", e.name, err)
		}
		if _, err := cw.Write(body); err != nil {
			return fmt.Errorf("archive entry %q: %w", e.name, err)
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("archive trailer: %w", err)
	}
	return nil
}

// content returns what goes after the entry's header: the file content, the symlink target
// (cpio stores it as the body) or nothing for a directory.
func (e entry) content() ([]byte, error) {
	switch {
	case e.mode&cpio.ModeType == cpio.TypeSymlink:
		return []byte(e.link), nil
	case e.mode&cpio.ModeType == cpio.TypeDir:
		return nil, nil
	case e.src == "":
		return e.data, nil
	}
	s := compression(e.src)
	if s == "" {
		b, err := os.ReadFile(e.src)
		if err != nil {
			return nil, fmt.Errorf("archive entry %q: %w", e.name, err)
		}
		return b, nil
	}
	f, err := os.Open(e.src)
	if err != nil {
		return nil, fmt.Errorf("archive entry %q: %w", e.name, err)
	}
	defer f.Close()
	r, err := compressed[s](f)
	if err != nil {
		return nil, fmt.Errorf("archive entry %q: decompress %s: %w", e.name, e.src, err)
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return nil, fmt.Errorf("archive entry %q: decompress %s: %w", e.name, e.src, err)
	}
	return buf.Bytes(), nil
}

// jobInodes starts the job archive's inode numbers far from the base archive's. The kernel
// forgets inode numbers at each trailer, so this is only for people reading a listing of the
// concatenation.
const jobInodes = 1 << 20

// Where things are in the guest's root file system.
const (
	// JobPath is the job, from the archive JobArchive makes.
	JobPath = "/vmfsbench/job.json"
	// ModuleListPath lists the module files to load, one name per line, in load order.
	ModuleListPath = "/vmfsbench/modules"
	// ModuleDir holds the modules as <name>.ko, uncompressed.
	ModuleDir = "/lib/modules"
	// BusyboxPath is busybox, when the base archive has it.
	BusyboxPath = "/bin/busybox"
	// InitPath is the agent.
	InitPath = "/init"
)

// JobArchive returns a small archive holding job as /vmfsbench/job.json, meant to be appended
// to a base archive.
func JobArchive(job []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeArchive(&buf, []File{{Name: JobPath, Mode: 0o644, Data: job}}, jobInodes); err != nil {
		return nil, fmt.Errorf("job archive: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteCellInitrd writes the base archive at basePath followed by the job archive to dst,
// through a temporary file in dst's directory and a rename.
func WriteCellInitrd(dst, basePath string, job []byte) error {
	ja, err := JobArchive(job)
	if err != nil {
		return err
	}
	base, err := os.Open(basePath)
	if err != nil {
		return fmt.Errorf("cell initrd: %w", err)
	}
	defer base.Close()
	// The job may hold secrets (ssh-tar's host key, the workload's environment): 0600.
	return atomicfile.WritePerm(dst, 0o600, func(w io.Writer) error {
		n, err := io.Copy(w, base)
		if err != nil {
			return fmt.Errorf("cell initrd: copy %s: %w", basePath, err)
		}
		// Archives we write end 4-aligned; pad anything else, as the kernel expects the next
		// header on a 4-byte boundary after zero padding.
		if pad := (4 - n%4) % 4; pad != 0 {
			if _, err := w.Write(make([]byte, pad)); err != nil {
				return err
			}
		}
		_, err = w.Write(ja)
		return err
	})
}
