package initramfs

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
)

// formatVersion names the archive layout in the cache key. Change it whenever the bytes
// written for the same inputs change (layout, header fields, decompression).
const formatVersion = "vmfsbench-initramfs-1"

// Base describes the cached part of a guest's initramfs.
type Base struct {
	// Agent is the static guest agent binary, stored as /init.
	Agent string
	// ModulesDir is the kernel's lib/modules/<version> directory.
	ModulesDir string
	// Modules are the modules to load, resolved with ModuleClosure.
	Modules []string
	// Extras are more files to include; their names may not clash with the ones above.
	Extras []File
	// Busybox adds the host's static busybox as /bin/busybox (Debian: busybox-static). It must
	// be built for the agent's architecture.
	Busybox bool
}

// busyboxCandidates are where a host's busybox may live.
var busyboxCandidates = []string{"/bin/busybox", "/usr/bin/busybox", "/usr/sbin/busybox", "/sbin/busybox"}

// BuildBase builds (or finds in cacheDir/initramfs) the base archive for b: the agent as
// /init, each module of the closure of b.Modules as /lib/modules/<name>.ko, the load list at
// /vmfsbench/modules, busybox when asked, and the extras. It returns the archive's path and
// the modules in load order. The file is named by a hash of everything that goes into it
// (contents, names, modes, format version), so equal inputs give the same path and bytes.
func BuildBase(ctx context.Context, cacheDir string, b Base) (string, []Module, error) {
	files, mods, err := baseFiles(b)
	if err != nil {
		return "", nil, err
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	key, err := inputsHash(files)
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(cacheDir, "initramfs")
	p := filepath.Join(dir, key+".cpio")
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p, mods, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("base initramfs: %w", err)
	}
	if err := atomicfile.Write(p, func(w io.Writer) error { return Write(w, files) }); err != nil {
		return "", nil, fmt.Errorf("base initramfs: %w", err)
	}
	return p, mods, nil
}

// baseFiles lists the files of b's archive.
func baseFiles(b Base) ([]File, []Module, error) {
	agentMachine, err := staticELF(b.Agent)
	if err != nil {
		return nil, nil, fmt.Errorf("base initramfs: agent: %w", err)
	}
	var mods []Module
	if len(b.Modules) > 0 {
		if b.ModulesDir == "" {
			return nil, nil, fmt.Errorf("base initramfs: modules %v asked for without a modules directory", b.Modules)
		}
		if mods, err = ModuleClosure(b.ModulesDir, b.Modules); err != nil {
			return nil, nil, fmt.Errorf("base initramfs: %w", err)
		}
	}
	files := []File{{Name: InitPath, Mode: 0o755, Src: b.Agent}}
	var list strings.Builder
	for _, m := range mods {
		src := m.Path
		if !filepath.IsAbs(src) {
			src = filepath.Join(b.ModulesDir, filepath.FromSlash(m.Path))
		}
		files = append(files, File{Name: ModuleDir + "/" + m.Name + ".ko", Mode: 0o644, Src: src})
		list.WriteString(m.Name + ".ko\n")
	}
	files = append(files, File{Name: ModuleListPath, Mode: 0o644, Data: []byte(list.String())})
	if b.Busybox {
		bb, err := findBusybox(agentMachine)
		if err != nil {
			return nil, nil, fmt.Errorf("base initramfs: %w", err)
		}
		files = append(files, File{Name: BusyboxPath, Mode: 0o755, Src: bb})
	}
	files = append(files, b.Extras...)
	return files, mods, nil
}

// staticELF checks that p is a statically linked ELF executable and returns its machine.
func staticELF(p string) (elf.Machine, error) {
	f, err := elf.Open(p)
	if err != nil {
		return 0, fmt.Errorf("%s: not an ELF executable: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return 0, fmt.Errorf("%s: dynamically linked; the guest has no libraries (build with CGO_ENABLED=0)", p)
		}
	}
	return f.Machine, nil
}

// findBusybox returns the first static busybox on the host built for machine.
func findBusybox(machine elf.Machine) (string, error) {
	var why []string
	for _, c := range busyboxCandidates {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		m, err := staticELF(c)
		switch {
		case err != nil:
			why = append(why, err.Error())
		case m != machine:
			why = append(why, fmt.Sprintf("%s: built for %v, the agent for %v", c, m, machine))
		default:
			return c, nil
		}
	}
	if len(why) == 0 {
		why = append(why, "none in "+strings.Join(busyboxCandidates, ", "))
	}
	return "", fmt.Errorf("busybox asked for but no static busybox found (Debian: install busybox-static): %s", strings.Join(why, "; "))
}

// inputsHash names an archive by what it is made of: the format version and, for each entry
// in archive order, its name, mode, link target and the sha256 of its content source.
func inputsHash(files []File) (string, error) {
	entries, err := resolve(files)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	io.WriteString(h, formatVersion+"\n")
	for _, e := range entries {
		io.WriteString(h, e.name+"\x00"+strconv.FormatUint(uint64(e.mode), 8)+"\x00"+e.link+"\x00")
		if err := hashSource(h, e); err != nil {
			return "", err
		}
		io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashSource(h hash.Hash, e entry) error {
	c := sha256.New()
	if e.src == "" {
		c.Write(e.data)
	} else {
		f, err := os.Open(e.src)
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", e.name, err)
		}
		_, err = io.Copy(c, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("archive entry %q: %w", e.name, err)
		}
		// The same bytes read raw or decompressed make different archives.
		io.WriteString(c, "\x00"+compression(e.src))
	}
	io.WriteString(h, hex.EncodeToString(c.Sum(nil)))
	return nil
}

// BusyboxAvailable reports whether the host has a static busybox built for the agent's
// architecture, so a caller can ask for it only when it is there.
func BusyboxAvailable(agent string) bool {
	m, err := staticELF(agent)
	if err != nil {
		return false
	}
	_, err = findBusybox(m)
	return err == nil
}
