// Package synthetic generates the trees a study can run on without a checkout: a tree shaped
// like an LLVM checkout with its build directories (Tree, Ensure) and an LLVM-shaped lit suite
// that passes with Debian's LLVM 15 (GenerateLit). Both are deterministic: the same parameters
// give the same bytes. Only the host uses them; the guest agent never links them.
package synthetic

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/bits"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// syntheticVersion is part of every Tree key: bump it whenever the generator's output
// changes, so trees cached by an older generator are not reused.
const syntheticVersion = 1

// syntheticTime is the modification time of every file, directory and symlink generated.
var syntheticTime = time.Date(2024, 10, 13, 0, 0, 0, 0, time.UTC)

// Limits of Tree parameters.
const (
	minSyntheticFiles   = 500
	maxSyntheticFiles   = 10_000_000
	minBytesPerFile     = 64
	maxSyntheticBytes   = 1 << 40
	syntheticBigPermill = 500 // share of Bytes in the few big files (binaries, git pack)
)

// Tree describes a generated tree shaped like an LLVM checkout with build directories:
// llvm/, clang/ and lld/ sources and tests, a .git/ directory, and build/stage1, build/stage2
// and build/stage2cross, whose bin/ holds a few large binaries. The same parameters always
// give the same bytes, names, modes (0644, 0755 for executables and directories) and times.
type Tree struct {
	// Files is the exact number of regular files (symlinks and directories come on top).
	Files int `json:"files"`
	// Bytes is the exact total size of the regular files.
	Bytes int64 `json:"bytes"`
	// Seed selects the tree: names, sizes and contents all follow from it.
	Seed int64 `json:"seed"`
	// LitTests, when positive, adds an LLVM-shaped lit suite of that many tests in
	// build/stage2cross/test (GenerateLit, same seed), on top of Files.
	LitTests int `json:"lit_tests,omitempty"`
}

// LitSuiteDir is where a synthetic tree's lit suite lives: the cross build's test directory,
// from where the seed study ran llvm-lit.
const LitSuiteDir = "build/stage2cross/test"

// Key returns a short stable name for the tree, such as "f20000-b300MiB-s1-1a2b3c4d". It
// includes a hash of the generator version, so a changed generator gets new keys.
func (s Tree) Key() string {
	if s.LitTests > 0 {
		h := sha256.Sum256(fmt.Appendf(nil, "vmfsbench synthetic v%d files=%d bytes=%d seed=%d lit=%d", syntheticVersion, s.Files, s.Bytes, s.Seed, s.LitTests))
		return fmt.Sprintf("f%d-b%s-s%d-l%d-%s", s.Files, formatBytes(s.Bytes), s.Seed, s.LitTests, hex.EncodeToString(h[:4]))
	}
	h := sha256.Sum256(fmt.Appendf(nil, "vmfsbench synthetic v%d files=%d bytes=%d seed=%d", syntheticVersion, s.Files, s.Bytes, s.Seed))
	return fmt.Sprintf("f%d-b%s-s%d-%s", s.Files, formatBytes(s.Bytes), s.Seed, hex.EncodeToString(h[:4]))
}

func formatBytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n != 0 && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.name)
		}
	}
	return fmt.Sprint(n)
}

// Validate reports parameters the generator cannot honour.
func (s Tree) Validate() error {
	switch {
	case s.Files < minSyntheticFiles || s.Files > maxSyntheticFiles:
		return fmt.Errorf("synthetic tree: files must be between %d and %d, not %d", minSyntheticFiles, maxSyntheticFiles, s.Files)
	case s.Bytes < int64(s.Files)*minBytesPerFile:
		return fmt.Errorf("synthetic tree: bytes must be at least %d per file (%d for %d files), not %d", minBytesPerFile, int64(s.Files)*minBytesPerFile, s.Files, s.Bytes)
	case s.Bytes > maxSyntheticBytes:
		return fmt.Errorf("synthetic tree: bytes must be at most %d, not %d", int64(maxSyntheticBytes), s.Bytes)
	}
	return nil
}

// Ensure returns cacheDir/trees/<key>, generating the tree there first if it is not
// there yet. The tree is generated in a temporary directory beside its final place and renamed
// into it when complete, so a half-made tree is never used; when several callers race, the
// first rename wins and the others discard their copy.
func Ensure(ctx context.Context, cacheDir string, s Tree) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	trees := filepath.Join(cacheDir, "trees")
	dest := filepath.Join(trees, s.Key())
	if fi, err := os.Stat(dest); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("synthetic tree %s: exists and is not a directory", dest)
		}
		return dest, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("synthetic tree: %w", err)
	}
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return "", fmt.Errorf("synthetic tree: %w", err)
	}
	tmp, err := os.MkdirTemp(trees, "."+s.Key()+".tmp-")
	if err != nil {
		return "", fmt.Errorf("synthetic tree: %w", err)
	}
	if err := generate(ctx, tmp, s); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if s.LitTests > 0 {
		if err := GenerateLit(filepath.Join(tmp, LitSuiteDir), LitOptions{Tests: s.LitTests, Seed: s.Seed}); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("synthetic tree: lit suite: %w", err)
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.RemoveAll(tmp)
		if fi, serr := os.Stat(dest); serr == nil && fi.IsDir() {
			return dest, nil // another caller finished first
		}
		return "", fmt.Errorf("synthetic tree: %w", err)
	}
	return dest, nil
}

// Kinds of generated files; each has its own content style.
type fileKind uint8

const (
	kindCode    fileKind = iota // C++ and TableGen sources
	kindTest                    // lit test inputs
	kindText                    // docs, build files, scripts, configs
	kindELF                     // executables and object files
	kindArchive                 // static libraries
	kindBlob                    // git objects, pack files, binary logs
)

// Size pools: a few big files take a fixed share of Bytes, all others share the rest.
const (
	poolRest = iota
	poolBig
)

type synthFile struct {
	rel    string
	kind   fileKind
	exec   bool
	pool   uint8
	weight uint64 // relative size within the pool
	size   int64
}

type synthPlan struct {
	files     []synthFile
	links     [][2]string // path, target
	emptyDirs []string
}

type planner struct {
	synthPlan
	rng *rand.Rand
}

func (p *planner) add(rel string, kind fileKind, weight uint64) {
	p.files = append(p.files, synthFile{rel: rel, kind: kind, weight: weight})
}

func (p *planner) addRange(rel string, kind fileKind, lo, hi uint64) {
	p.add(rel, kind, p.logUniform(lo, hi))
}

// logUniform draws a weight between lo and hi whose logarithm is roughly uniform, with
// integers only so the plan is the same on every machine.
func (p *planner) logUniform(lo, hi uint64) uint64 {
	octaves := max(1, bits.Len64(hi/lo)-1)
	base := lo << p.rng.IntN(octaves)
	return min(hi, base+p.rng.Uint64N(base))
}

// Category shares of the files that are not fixed, in per mille.
var categoryPermill = []struct {
	name    string
	permill int
}{{"src", 330}, {"test", 400}, {"git", 60}, {"stage1", 60}, {"stage2", 60}, {"stage2cross", 90}}

// bigBinaries are the large files in each stage's bin/, with relative sizes.
var bigBinaries = []struct {
	name   string
	weight uint64
}{{"clang-19", 100}, {"lld", 30}, {"opt", 45}, {"llc", 45}, {"llvm-tblgen", 8}, {"clang-tblgen", 6}, {"FileCheck", 2}, {"not", 1}, {"count", 1}}

// stages are the build directories with the share of Bytes (per mille) that their bin/
// binaries take; the git pack gets what is left of syntheticBigPermill.
var stages = []struct {
	name    string
	permill uint64
}{{"stage1", 70}, {"stage2", 70}, {"stage2cross", 300}}

var configHeaders = []string{"config.h", "llvm-config.h", "abi-breaking.h", "Targets.def", "AsmPrinters.def", "AsmParsers.def", "Disassemblers.def", "TargetMCAs.def", "TargetExegesis.def"}

func plan(s Tree) *synthPlan {
	p := &planner{rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x766d667362656e63^syntheticVersion))}

	// Fixed files first: every tree has them whatever its size.
	p.addRange("README.md", kindText, 2<<10, 6<<10)
	p.addRange("LICENSE.TXT", kindText, 12<<10, 16<<10)
	p.addRange("CONTRIBUTING.md", kindText, 1<<10, 2<<10)
	p.addRange(".clang-format", kindText, 100, 300)
	p.addRange(".git/HEAD", kindText, 20, 30)
	p.addRange(".git/config", kindText, 200, 400)
	p.addRange(".git/description", kindText, 60, 80)
	p.addRange(".git/packed-refs", kindText, 16<<10, 64<<10)
	p.addRange(".git/refs/heads/main", kindText, 40, 42)
	p.addRange(".git/index", kindBlob, 1<<20, 4<<20)
	pack := ".git/objects/pack/pack-" + p.hex(40)
	p.addRange(pack+".idx", kindBlob, 1<<20, 2<<20)
	packPermill := uint64(syntheticBigPermill)
	for _, st := range stages {
		packPermill -= st.permill
	}
	p.files = append(p.files, synthFile{rel: pack + ".pack", kind: kindBlob, pool: poolBig, weight: packPermill * 1e9})
	var binSum uint64
	for _, bin := range bigBinaries {
		binSum += bin.weight
	}
	for _, st := range stages {
		b := "build/" + st.name + "/"
		for _, bin := range bigBinaries {
			p.files = append(p.files, synthFile{rel: b + "bin/" + bin.name, kind: kindELF, exec: true, pool: poolBig,
				weight: st.permill * 1e9 * bin.weight / binSum})
		}
		p.addRange(b+"bin/llvm-lit", kindText, 2<<10, 4<<10)
		p.files[len(p.files)-1].exec = true
		p.addRange(b+"CMakeCache.txt", kindText, 100<<10, 200<<10)
		p.addRange(b+"build.ninja", kindText, 1<<20, 4<<20)
		p.addRange(b+"compile_commands.json", kindText, 512<<10, 2<<20)
		p.addRange(b+".ninja_log", kindText, 128<<10, 512<<10)
		p.addRange(b+".ninja_deps", kindBlob, 1<<20, 4<<20)
		p.addRange(b+"test/lit.site.cfg.py", kindText, 4<<10, 8<<10)
		for _, h := range configHeaders {
			p.addRange(b+"include/llvm/Config/"+h, kindCode, 512, 8<<10)
		}
	}
	p.links = [][2]string{
		{"build/stage1/bin/clang", "clang-19"},
		{"build/stage2/bin/clang", "clang-19"},
		{"build/stage2cross/bin/clang", "clang-19"},
		{"build/stage2cross/bin/clang++", "clang"},
		{"build/stage2cross/bin/ld.lld", "lld"},
		{"llvm/include/llvm/Config", "../../../build/stage2cross/include/llvm/Config"},
		{"compile_commands.json", "build/stage2cross/compile_commands.json"},
	}
	p.emptyDirs = []string{"build/stage2cross/projects"}

	// The rest is spread over categories, then over each category's directories.
	rest := s.Files - len(p.files)
	weights := make([]uint64, len(categoryPermill))
	for i, c := range categoryPermill {
		weights[i] = uint64(c.permill)
	}
	for i, n := range apportion(int64(rest), weights) {
		switch c := categoryPermill[i].name; c {
		case "src":
			p.sources(int(n))
		case "test":
			p.tests(int(n))
		case "git":
			p.gitObjects(int(n))
		default:
			p.stage(c, int(n))
		}
	}

	// Sizes: each pool's budget is shared in proportion to the weights, exactly.
	big := s.Bytes * syntheticBigPermill / 1000
	for pool, budget := range []int64{s.Bytes - big, big} {
		var idx []int
		var w []uint64
		for i := range p.files {
			if p.files[i].pool == uint8(pool) {
				idx = append(idx, i)
				w = append(w, p.files[i].weight)
			}
		}
		for k, size := range apportion(budget, w) {
			p.files[idx[k]].size = size
		}
	}
	return &p.synthPlan
}

// apportion splits total into parts proportional to weights that sum to total exactly.
func apportion(total int64, weights []uint64) []int64 {
	var sum uint64
	for _, w := range weights {
		sum += w
	}
	out := make([]int64, len(weights))
	if sum == 0 {
		return out
	}
	var cum uint64
	var prev int64
	for i, w := range weights {
		cum += w
		hi, lo := bits.Mul64(uint64(total), cum)
		q, _ := bits.Div64(hi, lo, sum)
		out[i] = int64(q) - prev
		prev = int64(q)
	}
	return out
}

func (p *planner) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[p.rng.IntN(16)]
	}
	return string(b)
}

// spread distributes n files over dirs with random but seeded weights (heavier where the
// weight list says so) and calls name for each file to pick a name unique in its directory.
func (p *planner) spread(n int, dirs []weightedDir, file func(dir string, first bool, taken map[string]bool) (string, fileKind, uint64, uint64)) {
	w := make([]uint64, len(dirs))
	for i, d := range dirs {
		w[i] = d.weight * (50 + p.rng.Uint64N(100))
	}
	for i, k := range apportion(int64(n), w) {
		taken := make(map[string]bool, k)
		for j := int64(0); j < k; j++ {
			name, kind, lo, hi := file(dirs[i].dir, j == 0, taken)
			taken[name] = true
			p.addRange(dirs[i].dir+"/"+name, kind, lo, hi)
		}
	}
}

// unique returns gen() until it yields a name not yet taken, then falls back to numbering.
func unique(taken map[string]bool, gen func() string) string {
	for range 4 {
		if n := gen(); !taken[n] {
			return n
		}
	}
	base := gen()
	ext := path.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s%d%s", stem, i, ext); !taken[n] {
			return n
		}
	}
}

func (p *planner) pick(words []string) string { return words[p.rng.IntN(len(words))] }

func (p *planner) sources(n int) {
	p.spread(n, sourceDirs, func(dir string, first bool, taken map[string]bool) (string, fileKind, uint64, uint64) {
		if first {
			return "CMakeLists.txt", kindText, 300, 3 << 10
		}
		prefix := ""
		if i := strings.Index(dir, "/Target/"); i >= 0 {
			prefix, _, _ = strings.Cut(dir[i+len("/Target/"):], "/")
		}
		ext, lo, hi := ".cpp", uint64(2<<10), uint64(64<<10)
		switch r := p.rng.IntN(100); {
		case strings.Contains(dir, "/include/") || r < 30:
			ext, lo, hi = ".h", 1<<10, 32<<10
		case r < 40 && prefix != "":
			ext, lo, hi = ".td", 2<<10, 128<<10
		case r < 40:
			ext, lo, hi = ".def", 1<<10, 16<<10
		}
		name := unique(taken, func() string { return prefix + p.pick(codeWords) + p.pick(codeWords) + ext })
		return name, kindCode, lo, hi
	})
}

func (p *planner) tests(n int) {
	p.spread(n, testDirs, func(dir string, first bool, taken map[string]bool) (string, fileKind, uint64, uint64) {
		if first {
			return "lit.local.cfg", kindText, 50, 400
		}
		ext, lo, hi := ".ll", uint64(200), uint64(8<<10)
		switch r := p.rng.IntN(100); {
		case strings.HasPrefix(dir, "clang/"):
			ext = ".c"
			if r < 40 {
				ext = ".cpp"
			}
		case r < 15:
			ext, hi = ".test", 4<<10
		case r < 25:
			ext = ".s"
		case r < 35:
			ext, lo, hi = ".mir", 500, 16<<10
		}
		name := unique(taken, func() string {
			n := p.pick(testWords) + "-" + p.pick(testWords)
			if p.rng.IntN(3) == 0 {
				n += fmt.Sprintf("-%d", p.rng.IntN(100))
			}
			return n + ext
		})
		return name, kindTest, lo, hi
	})
}

func (p *planner) gitObjects(n int) {
	taken := make(map[string]bool, n)
	for range n {
		rel := unique(taken, func() string { return ".git/objects/" + p.hex(2) + "/" + p.hex(38) })
		taken[rel] = true
		p.addRange(rel, kindBlob, 100, 6<<10)
	}
}

func (p *planner) stage(st string, n int) {
	b := "build/" + st + "/"
	libs := min(n*8/100, len(libComponents))
	mirror := n * 37 / 100
	for _, c := range libComponents[:libs] {
		p.addRange(b+"lib/lib"+c+".a", kindArchive, 64<<10, 2<<20)
	}
	objDirs := make([]weightedDir, len(libComponents))
	for i, c := range libComponents {
		objDirs[i] = weightedDir{fmt.Sprintf("%slib/%s/CMakeFiles/%s.dir", b, c, c), 1}
	}
	p.spread(n-libs-mirror, objDirs, func(dir string, _ bool, taken map[string]bool) (string, fileKind, uint64, uint64) {
		name := unique(taken, func() string { return p.pick(codeWords) + p.pick(codeWords) + ".cpp.o" })
		return name, kindELF, 4 << 10, 256 << 10
	})
	mirrorDirs := make([]weightedDir, 0, len(testDirs))
	for _, d := range testDirs {
		if rel, ok := strings.CutPrefix(d.dir, "llvm/test/"); ok {
			mirrorDirs = append(mirrorDirs, weightedDir{b + "test/" + rel + "/Output", d.weight})
		}
	}
	p.spread(mirror, mirrorDirs, func(dir string, _ bool, taken map[string]bool) (string, fileKind, uint64, uint64) {
		name := unique(taken, func() string {
			return p.pick(testWords) + "-" + p.pick(testWords) + ".ll" + p.pick([]string{".script", ".tmp", ".tmp.o"})
		})
		return name, kindText, 100, 4 << 10
	})
}

// generate writes the tree for s into dir, which must exist and be empty.
func generate(ctx context.Context, dir string, s Tree) error {
	pl := plan(s)
	g := newContentGen(s.Seed)
	dirs := map[string]bool{".": true}
	made := []string{"."}
	var mkdirs func(rel string) error
	mkdirs = func(rel string) error {
		if dirs[rel] {
			return nil
		}
		if err := mkdirs(path.Dir(rel)); err != nil {
			return err
		}
		if err := os.Mkdir(filepath.Join(dir, filepath.FromSlash(rel)), 0o755); err != nil {
			return fmt.Errorf("synthetic tree: %w", err)
		}
		dirs[rel] = true
		made = append(made, rel)
		return nil
	}
	for i := range pl.files {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		f := &pl.files[i]
		if err := mkdirs(path.Dir(f.rel)); err != nil {
			return err
		}
		if err := g.writeFile(filepath.Join(dir, filepath.FromSlash(f.rel)), f); err != nil {
			return err
		}
	}
	for _, l := range pl.links {
		if err := mkdirs(path.Dir(l[0])); err != nil {
			return err
		}
		abs := filepath.Join(dir, filepath.FromSlash(l[0]))
		if err := os.Symlink(l[1], abs); err != nil {
			return fmt.Errorf("synthetic tree: %w", err)
		}
		ts := unix.NsecToTimespec(syntheticTime.UnixNano())
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, abs, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("synthetic tree: set times of %s: %w", abs, err)
		}
	}
	for _, d := range pl.emptyDirs {
		if err := mkdirs(d); err != nil {
			return err
		}
	}
	// Directories last: adding entries changes a directory's mtime, chmod and utimes on its
	// children do not.
	for _, d := range made {
		abs := filepath.Join(dir, filepath.FromSlash(d))
		if err := os.Chmod(abs, 0o755); err != nil {
			return fmt.Errorf("synthetic tree: %w", err)
		}
		if err := os.Chtimes(abs, syntheticTime, syntheticTime); err != nil {
			return fmt.Errorf("synthetic tree: %w", err)
		}
	}
	return nil
}

// contentGen produces file contents: a seeded corpus of code-like text, sliced at random
// places, for text files, and a mix of random, text and zero blocks for binaries.
type contentGen struct {
	seed   int64
	corpus []byte
	w      *bufio.Writer
	pcg    *rand.PCG
	rng    *rand.Rand
	chacha *rand.ChaCha8
	block  []byte
	zeros  []byte
}

const (
	corpusSize = 512 << 10
	blockSize  = 4 << 10
)

func newContentGen(seed int64) *contentGen {
	pcg := rand.NewPCG(uint64(seed), 0x636f72707573)
	g := &contentGen{
		seed:   seed,
		w:      bufio.NewWriterSize(nil, 256<<10),
		pcg:    pcg,
		rng:    rand.New(pcg),
		chacha: rand.NewChaCha8([32]byte{}),
		block:  make([]byte, blockSize),
		zeros:  make([]byte, blockSize),
	}
	g.corpus = makeCorpus(g.rng)
	return g
}

func makeCorpus(r *rand.Rand) []byte {
	pick := func(w []string) string { return w[r.IntN(len(w))] }
	ident := func() string { return pick(codeWords) + pick(codeWords) }
	lower := func() string { return strings.ToLower(pick(codeWords)) }
	b := make([]byte, 0, corpusSize+256)
	for len(b) < corpusSize {
		switch r.IntN(12) {
		case 0:
			b = fmt.Appendf(b, "static %s %s(const %s &%s) {\n", pick(cppTypes), ident(), ident(), lower())
		case 1:
			b = fmt.Appendf(b, "  %s %s = %s.%s(%s, %d);\n", pick(cppTypes), lower(), lower(), ident(), lower(), r.IntN(1024))
		case 2:
			b = fmt.Appendf(b, "  if (%s->%s() && !%s)\n    return %s::%s;\n", lower(), ident(), lower(), ident(), ident())
		case 3:
			b = append(b, "}\n\n"...)
		case 4:
			b = fmt.Appendf(b, "// %s the %s of %s before %s.\n", pick(testWords), lower(), lower(), pick(testWords))
		case 5:
			b = fmt.Appendf(b, "#include \"llvm/%s/%s.h\"\n", pick(codeWords), ident())
		case 6:
			b = fmt.Appendf(b, "define %s @%s(%s %%%s) {\n", pick(irTypes), ident(), pick(irTypes), lower())
		case 7:
			b = fmt.Appendf(b, "  %%%d = %s %s %%%s, %d\n", r.IntN(64), pick(irOps), pick(irTypes), lower(), r.IntN(256))
		case 8:
			b = fmt.Appendf(b, "; CHECK-NEXT: %s a%d, a%d, %d\n", pick(rvInsns), r.IntN(8), r.IntN(8), r.IntN(2048))
		case 9:
			b = fmt.Appendf(b, "def %s : %s<%d, \"%s\">;\n", ident(), ident(), r.IntN(128), lower())
		case 10:
			b = fmt.Appendf(b, "  for (unsigned I = 0, E = %s.size(); I != E; ++I)\n    %s[I] = %s;\n", lower(), lower(), ident())
		default:
			b = fmt.Appendf(b, "  ret %s %%%d\n}\n\n", pick(irTypes), r.IntN(64))
		}
	}
	return b
}

func (g *contentGen) writeFile(abs string, f *synthFile) error {
	out, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("synthetic tree: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte(f.rel))
	g.pcg.Seed(uint64(g.seed), h.Sum64())
	g.w.Reset(out)
	switch f.kind {
	case kindELF, kindArchive, kindBlob:
		g.binary(f)
	default:
		g.text(f)
	}
	err = g.w.Flush()
	mode := fs.FileMode(0o644)
	if f.exec {
		mode = 0o755
	}
	if err == nil {
		err = out.Chmod(mode) // explicitly, whatever the umask
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(abs, syntheticTime, syntheticTime)
	}
	if err != nil {
		return fmt.Errorf("synthetic tree: write %s: %w", abs, err)
	}
	return nil
}

func (g *contentGen) text(f *synthFile) {
	var header string
	switch f.kind {
	case kindCode:
		header = "//===- " + f.rel + " - vmfsbench synthetic source ---------*- C++ -*-===//\n"
	case kindTest:
		header = "; RUN: llc -mtriple=riscv64 < %s | FileCheck %s\n; " + f.rel + "\n"
	default:
		header = "# " + f.rel + " (vmfsbench synthetic)\n"
	}
	remaining := f.size
	g.w.WriteString(header[:min(int64(len(header)), remaining)])
	remaining -= min(int64(len(header)), remaining)
	for remaining > 0 {
		n := min(remaining, int64(64+g.rng.IntN(4032)))
		off := g.rng.IntN(len(g.corpus) - int(n))
		g.w.Write(g.corpus[off : off+int(n)])
		remaining -= n
	}
}

func (g *contentGen) binary(f *synthFile) {
	var seed [32]byte
	for i := 0; i < len(seed); i += 8 {
		v := g.rng.Uint64()
		for j := range 8 {
			seed[i+j] = byte(v >> (8 * j))
		}
	}
	g.chacha.Seed(seed)
	var magic string
	switch {
	case f.kind == kindArchive:
		magic = "!<arch>\n"
	case f.kind == kindELF:
		magic = "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00"
	case strings.HasSuffix(f.rel, ".pack"):
		magic = "PACK\x00\x00\x00\x02"
	default:
		magic = "x\x01"
	}
	remaining := f.size
	g.w.WriteString(magic[:min(int64(len(magic)), remaining)])
	remaining -= min(int64(len(magic)), remaining)
	for remaining > 0 {
		n := min(remaining, blockSize)
		switch r := g.rng.IntN(10); {
		case r < 5:
			g.chacha.Read(g.block[:n])
			g.w.Write(g.block[:n])
		case r < 8:
			off := g.rng.IntN(len(g.corpus) - int(n))
			g.w.Write(g.corpus[off : off+int(n)])
		default:
			g.w.Write(g.zeros[:n])
		}
		remaining -= n
	}
}

type weightedDir struct {
	dir    string
	weight uint64
}

// dirs expands "base/{a,b,c}" style lists: every name in alts under base, with weight w.
func dirs(w uint64, base string, alts ...string) []weightedDir {
	out := make([]weightedDir, len(alts))
	for i, a := range alts {
		out[i] = weightedDir{strings.TrimSuffix(base+"/"+a, "/"), w}
	}
	return out
}

var targets = []string{"RISCV", "X86", "AArch64", "ARM", "AMDGPU", "PowerPC", "Mips", "WebAssembly"}

var sourceDirs = func() []weightedDir {
	var d []weightedDir
	for _, t := range targets {
		w := uint64(2)
		if t == "RISCV" || t == "X86" || t == "AArch64" {
			w = 4
		}
		d = append(d, dirs(w, "llvm/lib/Target/"+t, "", "MCTargetDesc", "AsmParser", "Disassembler", "GISel", "TargetInfo")...)
	}
	d = append(d, dirs(3, "llvm/lib/Transforms", "Scalar", "Vectorize", "IPO", "InstCombine", "Utils", "Instrumentation")...)
	d = append(d, dirs(3, "llvm/lib/CodeGen", "", "SelectionDAG", "GlobalISel", "AsmPrinter")...)
	d = append(d, dirs(2, "llvm/lib", "IR", "Support", "Analysis", "MC", "MC/MCParser", "Object", "ObjectYAML", "Passes",
		"ProfileData", "DebugInfo/DWARF", "DebugInfo/PDB", "DebugInfo/CodeView", "ExecutionEngine/Orc",
		"ExecutionEngine/JITLink", "Bitcode/Reader", "Bitcode/Writer", "Linker", "LTO", "Option", "TargetParser")...)
	d = append(d, dirs(2, "llvm/include/llvm", "ADT", "IR", "Support", "CodeGen", "Analysis", "MC", "Object",
		"Transforms/Scalar", "Transforms/Utils", "Transforms/IPO", "Target", "TargetParser", "DebugInfo/DWARF",
		"ExecutionEngine/Orc", "Passes", "ProfileData")...)
	d = append(d, dirs(1, "llvm/tools", "llc", "opt", "lli", "llvm-objdump", "llvm-readobj", "llvm-mc", "llvm-ar", "llvm-dwarfdump")...)
	d = append(d, dirs(1, "llvm/utils", "TableGen", "TableGen/Common", "TableGen/Basic", "lit/lit", "lit/lit/formats",
		"lit/lit/llvm", "FileCheck", "gn/secondary/llvm")...)
	d = append(d, dirs(1, "llvm/unittests", "ADT", "IR", "Support", "CodeGen", "Analysis", "Transforms/Utils")...)
	d = append(d, dirs(3, "clang/lib", "AST", "Sema", "CodeGen", "Driver", "Driver/ToolChains", "Frontend", "Parse", "Lex",
		"Basic", "Basic/Targets", "Serialization", "StaticAnalyzer/Checkers", "Headers")...)
	d = append(d, dirs(2, "clang/include/clang", "AST", "Sema", "Basic", "Driver", "Frontend", "Lex", "Parse", "CodeGen", "Serialization")...)
	d = append(d, dirs(1, "clang/tools", "driver", "clang-format", "libclang")...)
	d = append(d, dirs(2, "lld", "ELF", "ELF/Arch", "COFF", "MachO", "wasm", "Common", "include/lld/Common")...)
	return d
}()

var testDirs = func() []weightedDir {
	var d []weightedDir
	d = append(d, dirs(8, "llvm/test/CodeGen", "RISCV", "RISCV/rvv", "X86", "AArch64")...)
	d = append(d, dirs(3, "llvm/test/CodeGen", "RISCV/GlobalISel", "AArch64/GlobalISel", "ARM", "AMDGPU", "PowerPC", "WebAssembly", "Generic")...)
	d = append(d, dirs(4, "llvm/test/Transforms", "InstCombine", "LoopVectorize", "LoopVectorize/RISCV", "SLPVectorizer/RISCV",
		"SLPVectorizer/X86", "GVN", "SimplifyCFG", "InstSimplify", "LICM", "Inline")...)
	d = append(d, dirs(3, "llvm/test/MC", "RISCV", "X86", "AArch64", "ELF", "Disassembler/RISCV")...)
	d = append(d, dirs(2, "llvm/test", "Analysis/CostModel/RISCV", "Analysis/ScalarEvolution", "Analysis/BasicAA",
		"tools/llvm-objdump/ELF", "tools/llvm-readobj/ELF", "tools/llvm-mc", "tools/llvm-ar", "Other", "Verifier", "Bitcode",
		"DebugInfo/X86", "DebugInfo/RISCV", "DebugInfo/Generic", "Assembler", "Instrumentation/AddressSanitizer",
		"Instrumentation/MemorySanitizer")...)
	d = append(d, dirs(3, "clang/test", "Sema", "SemaCXX", "CodeGen", "CodeGen/RISCV", "CodeGenCXX", "Driver",
		"Preprocessor", "AST", "Parser", "Modules", "OpenMP", "Analysis")...)
	d = append(d, dirs(2, "lld/test", "ELF", "ELF/Inputs", "COFF", "MachO", "wasm")...)
	return d
}()

var libComponents = []string{"LLVMSupport", "LLVMCore", "LLVMAnalysis", "LLVMTransformUtils", "LLVMScalarOpts",
	"LLVMInstCombine", "LLVMVectorize", "LLVMipo", "LLVMCodeGen", "LLVMSelectionDAG", "LLVMGlobalISel", "LLVMAsmPrinter",
	"LLVMMC", "LLVMMCParser", "LLVMObject", "LLVMBitReader", "LLVMBitWriter", "LLVMLinker", "LLVMLTO", "LLVMPasses",
	"LLVMProfileData", "LLVMDebugInfoDWARF", "LLVMOption", "LLVMTargetParser", "LLVMRISCVCodeGen", "LLVMRISCVDesc",
	"LLVMRISCVAsmParser", "LLVMRISCVDisassembler", "LLVMX86CodeGen", "LLVMX86Desc", "LLVMAArch64CodeGen",
	"LLVMAArch64Desc", "LLVMTableGen", "clangAST", "clangSema", "clangCodeGen", "clangDriver", "clangFrontend",
	"clangParse", "clangLex", "clangBasic", "clangSerialization", "clangStaticAnalyzerCheckers", "lldELF", "lldCommon"}

var codeWords = []string{"Instr", "Info", "Register", "Frame", "Lowering", "ISel", "DAG", "Target", "Machine",
	"Subtarget", "Asm", "Printer", "Parser", "Emitter", "Legalizer", "Combiner", "Vector", "Loop", "Pass", "Analysis",
	"Builder", "Context", "Module", "Function", "Value", "Type", "Constant", "Pattern", "Match", "Schedule", "Model",
	"Cost", "Opt", "Utils", "Inline", "Alias", "Memory", "SSA", "Global", "Call", "Graph", "Block", "Basic", "Debug",
	"Stream", "Reader", "Writer", "Object", "Symbol", "Section", "Reloc", "Expr", "Decl", "Stmt", "Sema", "Lookup",
	"Template", "Overload", "Attr", "Builtin", "Diag", "Lex", "Token", "Header", "Search", "Driver", "Tool", "Chain",
	"Option", "Arg", "Link", "Layout", "Thunk", "Arch", "Output", "Input", "Relax", "Merge", "Split", "Hash", "Table",
	"Map", "Set", "String", "Ref", "Array", "Pointer", "Int", "Float", "Bit", "Twine", "Error", "Format", "Path",
	"File", "System", "Thread", "Parallel"}

var testWords = []string{"vector", "shuffle", "fold", "select", "load", "store", "icmp", "fcmp", "phi", "loop",
	"unroll", "vectorize", "rvv", "vsetvli", "spill", "regalloc", "call", "tail", "abi", "varargs", "inline-asm",
	"intrinsics", "memcpy", "memset", "shift", "rotate", "bswap", "ctlz", "cttz", "popcount", "min", "max", "abs",
	"sext", "zext", "trunc", "bitcast", "gep", "alloca", "atomic", "fence", "cmpxchg", "dwarf", "eh", "switch",
	"branch", "jump-table", "constant-pool", "global", "tls", "pic", "relax", "reloc", "attrs", "crash", "combine",
	"legalize", "sched", "stack", "frame", "prologue", "epilogue", "zba", "zbb", "zbs", "fp16", "bf16", "mask",
	"reduction", "gather", "scatter", "strided", "splat", "insert", "extract", "compress"}

var cppTypes = []string{"unsigned", "bool", "int64_t", "Value *", "auto", "SDValue", "MachineInstr *", "StringRef", "APInt", "Register"}

var irTypes = []string{"i1", "i8", "i16", "i32", "i64", "ptr", "float", "double", "<vscale x 4 x i32>", "<8 x i16>"}

var irOps = []string{"add", "sub", "mul", "and", "or", "xor", "shl", "lshr", "ashr", "udiv", "sdiv"}

var rvInsns = []string{"add", "addi", "slli", "srli", "lw", "sw", "ld", "sd", "vsetvli", "vle32.v", "vadd.vv", "sh1add", "andn", "bseti"}
