package initramfs

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Module is one kernel module to load in the guest.
type Module struct {
	// Name is the module's name with dashes turned to underscores, as the kernel names it
	// (crc32c-intel.ko is crc32c_intel).
	Name string
	// Path is the module file relative to the modules directory, as modules.dep spells it
	// (kernel/fs/9p/9p.ko); it may end in .ko.xz, .ko.zst or .ko.gz.
	Path string
}

// moduleSuffixes are the file endings kmod accepts for modules, longest first.
var moduleSuffixes = []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"}

// modName returns the canonical module name of a module file path, or "" when the path does
// not name a module.
func modName(p string) string {
	base := path.Base(filepath.ToSlash(p))
	for _, s := range moduleSuffixes {
		if n, ok := strings.CutSuffix(base, s); ok && n != "" {
			return canonical(n)
		}
	}
	return ""
}

// canonical makes dashes and underscores equivalent, as modprobe does.
func canonical(name string) string { return strings.ReplaceAll(name, "-", "_") }

// depIndex is a parsed modules.dep: each module's file and its dependencies as listed.
type depIndex struct {
	path map[string]string
	deps map[string][]string
}

func readModulesDep(modulesDir string) (*depIndex, error) {
	file := filepath.Join(modulesDir, "modules.dep")
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("module closure: %w", err)
	}
	defer f.Close()
	idx := &depIndex{path: map[string]string{}, deps: map[string][]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(text, ":")
		name := modName(mod)
		if !ok || name == "" {
			return nil, fmt.Errorf("module closure: %s:%d: not a modules.dep line: %q", file, line, text)
		}
		if _, dup := idx.path[name]; dup {
			continue // depmod lists the winning file first; modprobe takes that one too
		}
		idx.path[name] = mod
		for _, d := range strings.Fields(rest) {
			dn := modName(d)
			if dn == "" {
				return nil, fmt.Errorf("module closure: %s:%d: %q is not a module file", file, line, d)
			}
			idx.deps[name] = append(idx.deps[name], dn)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("module closure: %s: %w", file, err)
	}
	return idx, nil
}

// readBuiltin returns the names in modules.builtin; a tree without the file has none.
func readBuiltin(modulesDir string) (map[string]bool, error) {
	b, err := os.ReadFile(filepath.Join(modulesDir, "modules.builtin"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("module closure: %w", err)
	}
	builtin := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if n := modName(strings.TrimSpace(l)); n != "" {
			builtin[n] = true
		}
	}
	return builtin, nil
}

// ModuleClosure resolves names (dashes and underscores alike) through modulesDir's
// modules.dep and returns them with everything they depend on, in an order the guest can load
// them: dependencies first, each module once. For a single name the order is the one
// `modprobe --show-depends` prints. Names listed in modules.builtin are built into the kernel
// and are left out; a name found in neither file is an error. Soft dependencies
// (modules.softdep, e.g. libcrc32c's on crc32c) are not followed: list them in names, before
// the modules that need them.
func ModuleClosure(modulesDir string, names []string) ([]Module, error) {
	idx, err := ReadModules(modulesDir)
	if err != nil {
		return nil, err
	}
	return idx.Closure(names)
}

// ModuleIndex is a kernel's modules.dep and modules.builtin, read once: the host probe reads
// it, and each cell's plan resolves its modules through it.
type ModuleIndex struct {
	dir     string
	idx     *depIndex
	builtin map[string]bool
}

// ReadModules reads modulesDir's modules.dep and modules.builtin (see ModuleClosure).
func ReadModules(modulesDir string) (*ModuleIndex, error) {
	idx, err := readModulesDep(modulesDir)
	if err != nil {
		return nil, err
	}
	builtin, err := readBuiltin(modulesDir)
	if err != nil {
		return nil, err
	}
	return &ModuleIndex{dir: modulesDir, idx: idx, builtin: builtin}, nil
}

// Closure is ModuleClosure of names in the index's kernel.
func (x *ModuleIndex) Closure(names []string) ([]Module, error) {
	modulesDir, idx, builtin := x.dir, x.idx, x.builtin
	var unknown []string
	for _, n := range names {
		c := canonical(n)
		if _, ok := idx.path[c]; !ok && !builtin[c] {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("module closure: %s not in %s (neither modules.dep nor modules.builtin)", quoteList(unknown), modulesDir)
	}

	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []Module
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("module closure: %s/modules.dep has a dependency cycle: %s", modulesDir, strings.Join(append(chain, name), " -> "))
		}
		p, ok := idx.path[name]
		if !ok {
			if builtin[name] {
				state[name] = done
				return nil
			}
			return fmt.Errorf("module closure: %s needs %q, which is not in %s/modules.dep", chain[len(chain)-1], name, modulesDir)
		}
		state[name] = visiting
		// depmod sorts each list so that loading it back to front works; walking it that way
		// reproduces modprobe's order and stays right for lists that are not closed.
		deps := idx.deps[name]
		for i := len(deps) - 1; i >= 0; i-- {
			if err := visit(deps[i], append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = done
		out = append(out, Module{Name: name, Path: p})
		return nil
	}
	for _, n := range names {
		if err := visit(canonical(n), nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return "module " + q[0] + " is"
	}
	return "modules " + strings.Join(q, ", ") + " are"
}
