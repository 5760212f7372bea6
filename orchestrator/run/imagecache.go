package run

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
)

// ImageCache keeps the images that `vmfsbench exec` builds, so that the next exec of an
// unchanged tree boots without building again. An image is keyed by the tree's fingerprint
// (tree.Fingerprint's digest), what else it depends on (Salt: the spec's exclusions and owner, the tools'
// versions) and the build step's commands with the cell's work directory written as $WORK.
// Each image is a directory <Dir>/<key>; Dir keeps the newest Keep of them.
type ImageCache struct {
	Dir  string // one directory per spec and method variant, e.g. <cache>/images/<spec>/<variant>
	Tree string // the tree's fingerprint, taken before planning
	Salt string
	Keep int                              // images kept in Dir, the most recently used first; at least 1
	Note func(format string, args ...any) // says what was reused or built; may be nil
}

// imageEntry is the manifest of a kept image, entry.json in its directory.
type imageEntry struct {
	Tree     string     `json:"tree"`
	Commands [][]string `json:"commands"`
	Images   []string   `json:"images"` // base names, in the step's order
	Built    time.Time  `json:"built"`
}

const imageManifest = "entry.json"

// key is the cache key of the build step s of a cell whose work directory is work.
func (ic *ImageCache) key(s method.Step, work string) (string, [][]string) {
	h := sha256.New()
	fmt.Fprintf(h, "tree %s\nsalt %s\n", ic.Tree, ic.Salt)
	cmds := make([][]string, len(s.Commands))
	for i, argv := range s.Commands {
		cmds[i] = make([]string, len(argv))
		for j, a := range argv {
			cmds[i][j] = strings.ReplaceAll(a, work, "$WORK")
		}
		fmt.Fprintf(h, "%q\n", cmds[i])
	}
	for _, p := range s.Images {
		fmt.Fprintf(h, "image %s\n", strings.ReplaceAll(p, work, "$WORK"))
	}
	return hex.EncodeToString(h.Sum(nil))[:32], cmds
}

// Use puts the kept images of step s into the cell's work directory, as hard links (a
// copy across file systems), and says whether it had them. The guest only reads them.
func (ic *ImageCache) Use(s method.Step, work string) (bool, error) {
	key, _ := ic.key(s, work)
	dir := filepath.Join(ic.Dir, key)
	data, err := os.ReadFile(filepath.Join(dir, imageManifest))
	if err != nil {
		return false, nil // not kept (or half removed): build it
	}
	var e imageEntry
	if err := json.Unmarshal(data, &e); err != nil {
		return false, nil
	}
	for _, p := range s.Images {
		if err := linkOrCopy(filepath.Join(dir, filepath.Base(p)), p); err != nil {
			return false, fmt.Errorf("image cache: %w", err)
		}
	}
	now := time.Now()
	os.Chtimes(dir, now, now) // most recently used: kept longest
	ic.notef("reused the %s image built %s from the unchanged tree (%s)", strings.Join(baseNames(s.Images), ", "),
		e.Built.Local().Format("2006-01-02 15:04:05"), dir)
	return true, nil
}

// Store keeps the images step s just built in the work directory, then removes the least
// recently used images beyond Keep.
func (ic *ImageCache) Store(s method.Step, work string) error {
	key, cmds := ic.key(s, work)
	if err := os.MkdirAll(ic.Dir, 0o755); err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	tmp, err := os.MkdirTemp(ic.Dir, ".new-")
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left to remove
	for _, p := range s.Images {
		if err := linkOrCopy(p, filepath.Join(tmp, filepath.Base(p))); err != nil {
			return fmt.Errorf("image cache: %w", err)
		}
	}
	data, _ := json.MarshalIndent(imageEntry{Tree: ic.Tree, Commands: cmds, Images: baseNames(s.Images), Built: time.Now().UTC()}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, imageManifest), data, 0o644); err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	dir := filepath.Join(ic.Dir, key)
	os.RemoveAll(dir) // a manifest-less leftover; an exec at the same moment may win the rename
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
		return fmt.Errorf("image cache: %w", err)
	}
	ic.notef("built the %s image and kept it for the next exec of this tree (%s)", strings.Join(baseNames(s.Images), ", "), dir)
	return ic.prune()
}

// prune removes the least recently used images beyond Keep.
func (ic *ImageCache) prune() error {
	ents, err := os.ReadDir(ic.Dir)
	if err != nil {
		return err
	}
	type kept struct {
		name string
		used time.Time
	}
	var all []kept
	for _, d := range ents {
		if fi, err := d.Info(); err == nil && d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			all = append(all, kept{d.Name(), fi.ModTime()})
		}
	}
	slices.SortFunc(all, func(a, b kept) int { return b.used.Compare(a.used) })
	for _, k := range all[min(len(all), max(ic.Keep, 1)):] {
		if err := os.RemoveAll(filepath.Join(ic.Dir, k.name)); err != nil {
			return err
		}
		ic.notef("removed the older image %s (keeping the newest %d)", k.name, max(ic.Keep, 1))
	}
	return nil
}

func (ic *ImageCache) notef(format string, args ...any) {
	if ic.Note != nil {
		ic.Note(format, args...)
	}
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// linkOrCopy makes dst a hard link to src, or a copy where a link cannot be made.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
