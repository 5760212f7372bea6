package method

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// imageCfg is a run-time Config of an image method: the runner's walk found hidden paths.
func imageCfg(params Params, hidden []string) Config {
	c := cfg(params)
	c.Hidden = hidden
	return c
}

// TestImageHostSteps checks every host command of the image methods, with the excluded
// paths the host probe found (cfg: .git) or none.
func TestImageHostSteps(t *testing.T) {
	sq := Params{"compression": "none", "block_size": int64(131072), "upper": "tmpfs"}
	sqDisk := Params{"compression": "lz4", "block_size": int64(131072), "upper": "disk"}
	const mksquashfs = "mksquashfs /src/tree /run/w/tree.sqfs -noappend -quiet -no-progress -no-xattrs -b 131072 "
	const scratch = "mkfs.ext4 -q -F -t ext4 -O ^has_journal -m 0 -i 4096 -E lazy_itable_init=0,lazy_journal_init=0 /run/w/scratch.ext4 "
	const ext4 = "mkfs.ext4 -q -F -t ext4 -O ^has_journal -m 0 -E lazy_itable_init=0,lazy_journal_init=0 -N "
	const debugfs = "debugfs -w -f /run/w/ext4-fixup.debugfs /run/w/tree.ext4"
	for _, tc := range []struct {
		name   string
		method string
		c      Config
		want   []string
	}{
		{"squashfs plan", "squashfs", cfg(sq), []string{
			mksquashfs + "-noI -noId -noD -noF -noX -force-uid 1001 -force-gid 1001 -wildcards -ef /run/w/exclude.list"}},
		{"squashfs no exclusions, no owner", "squashfs", func() Config { c := cfg(sq); c.Exclude, c.Hidden, c.Owner = nil, nil, nil; return c }(), []string{
			mksquashfs + "-noI -noId -noD -noF -noX"}},
		{"squashfs upper disk", "squashfs", cfg(sqDisk), []string{
			mksquashfs + "-comp lz4 -force-uid 1001 -force-gid 1001 -wildcards -ef /run/w/exclude.list",
			scratch + "1048576k"}},
		{"squashfs upper disk, small tree", "squashfs", func() Config { c := cfg(sqDisk); c.Size.Bytes = 3 << 20; return c }(), []string{
			mksquashfs + "-comp lz4 -force-uid 1001 -force-gid 1001 -wildcards -ef /run/w/exclude.list",
			scratch + "1048576k"}},
		{"squashfs upper disk, tree bytes known", "squashfs", func() Config { c := cfg(sqDisk); c.Size.Bytes = 3 << 30; return c }(), []string{
			mksquashfs + "-comp lz4 -force-uid 1001 -force-gid 1001 -wildcards -ef /run/w/exclude.list",
			scratch + "6291456k"}},
		{"erofs plan", "erofs", cfg(Params{"compression": "lz4hc", "upper": "tmpfs"}), []string{
			"mkfs.erofs --quiet --preserve-mtime -zlz4hc --force-uid=1001 --force-gid=1001 --exclude-path=.git /run/w/tree.erofs /src/tree"}},
		{"erofs run", "erofs", imageCfg(Params{"compression": "none", "upper": "disk"}, []string{".git", "build/stage 1", "#x"}), []string{
			"mkfs.erofs --quiet --preserve-mtime --force-uid=1001 --force-gid=1001 --exclude-path=.git --exclude-path=build/stage 1 --exclude-path=#x /run/w/tree.erofs /src/tree",
			scratch + "1048576k"}},
		{"erofs run, nothing hidden", "erofs", imageCfg(Params{"compression": "none"}, []string{}), []string{
			"mkfs.erofs --quiet --preserve-mtime --force-uid=1001 --force-gid=1001 /run/w/tree.erofs /src/tree"}},
		{"ext4 auto", "ext4", cfg(Params{"size": "auto"}), []string{ext4 + "4096 -d /run/w/view/view /run/w/tree.ext4 65536k", debugfs}},
		{"ext4 15GiB", "ext4", cfg(Params{"size": "15GiB"}), []string{ext4 + "983040 -d /run/w/view/view /run/w/tree.ext4 15728640k", debugfs}},
		{"ext4 nothing hidden, owner kept", "ext4", func() Config { c := cfg(Params{"size": "auto"}); c.Hidden, c.Owner = nil, nil; return c }(),
			[]string{ext4 + "4096 -d /src/tree /run/w/tree.ext4 65536k", debugfs}},
		{"ext4 without the privilege to mount", "ext4", func() Config {
			c := cfg(Params{"size": "auto"})
			c.CanMount, c.Tools = false, Found{"e2fsprogs": {Detail: Mke2fs{Version: E2fsVersion{1, 47, 2}, TarInput: true}}}
			return c
		}(), []string{ext4 + "4096 -d - /run/w/tree.ext4 65536k", debugfs}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Lookup(tc.method)
			if err != nil {
				t.Fatal(err)
			}
			steps := planOf(m, tc.c).Steps
			var got []string
			for _, s := range steps {
				if s.Kind != StepBuildImage || s.Desc == "" {
					t.Errorf("step %+v", s)
				}
				for _, argv := range s.Commands {
					got = append(got, strings.Join(argv, " "))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestErofsCommandNamesTheExcludedPaths: the plan's command has an --exclude-path for each
// of the tree's excluded paths the host probe found, and none when nothing is excluded.
func TestErofsCommandNamesTheExcludedPaths(t *testing.T) {
	for _, tc := range []struct {
		hidden []string
		want   string
	}{
		{nil, "mkfs.erofs --quiet --preserve-mtime --force-uid=1001 --force-gid=1001 /run/w/tree.erofs /src/tree"},
		{[]string{"a b", "c/d"}, "mkfs.erofs --quiet --preserve-mtime --force-uid=1001 --force-gid=1001 --exclude-path=a b --exclude-path=c/d /run/w/tree.erofs /src/tree"},
	} {
		c := cfg(Params{"compression": "none"})
		c.Hidden = tc.hidden
		if got := strings.Join(planOf(Erofs{}, c).Steps[0].Commands[0], " "); got != tc.want {
			t.Errorf("hidden %q:\ngot  %s\nwant %s", tc.hidden, got, tc.want)
		}
	}
}

// TestScratchDiskWiring: with upper: disk an image method attaches its image first and the
// scratch disk second, the overlay's upper device is the second disk, and the guest gets
// the ext4 modules; with a tmpfs upper nothing of it is there.
func TestScratchDiskWiring(t *testing.T) {
	for _, name := range []string{"squashfs", "erofs"} {
		m, _ := Lookup(name)
		for _, upper := range []string{"tmpfs", "disk"} {
			c := cfg(Params{"compression": "none", "block_size": int64(131072), "upper": upper})
			devs := planOf(m, c).Devices
			steps := planOf(m, c).Guest
			ov := steps[len(steps)-1]
			mods := strings.Join(planOf(m, c).Modules, " ")
			if upper == "tmpfs" {
				if len(devs) != 1 || ov.UpperDevice != "" || strings.Contains(mods, "ext4") || len(planOf(m, c).Steps) != 1 {
					t.Errorf("%s upper tmpfs: devices %+v, overlay %+v, modules %s", name, devs, ov, mods)
				}
				continue
			}
			d0, _ := devs[0].(Disk)
			if d1, ok := devs[1].(Disk); len(devs) != 2 || d1.Path != "/run/w/scratch.ext4" || d1.ReadOnly || d1.Snapshot || !d0.ReadOnly || !ok {
				t.Errorf("%s upper disk: devices %+v", name, devs)
			}
			if steps[0].Source != "/dev/vda" || ov.Kind != protocol.StepOverlay || ov.UpperDevice != "/dev/vdb" {
				t.Errorf("%s upper disk: steps %+v", name, steps)
			}
			if !strings.HasSuffix(mods, "overlay virtio_blk crc32c_generic ext4") {
				t.Errorf("%s upper disk: modules %s", name, mods)
			}
		}
	}
	if got := overlay(cfg(Params{"upper": "disk"}), true)[0].UpperDevice; got != "/dev/vda" {
		t.Errorf("a share's scratch disk is %s, want /dev/vda (no tree image before it)", got)
	}
}

func TestSquashfsExcludeLine(t *testing.T) {
	for _, tc := range []struct{ rel, want string }{
		{".git", ".git"},
		{"build/stage1", "build/stage1"},
		{"a b", "a b"},
		{"trail ", "trail "},
		{" lead", `\ lead`},
		{"\tlead", "\\\tlead"},
		{"#hash", `\#hash`},
		{"a/#hash", "a/#hash"},
		{`back\slash`, `back\\slash`},
		{`\lead`, `\\\lead`},
		{"star*", `star\*`},
		{"q?", `q\?`},
		{"[br]", `\\[br]`},
		{"a/[br]", `a/\[br]`},
		{"... top", `\\... top`},
		{"a/... b", "a/... b"},
		{"...", "..."},
		{`q"uote`, `q"uote`},
	} {
		got, err := SquashfsExcludeLine(tc.rel)
		if err != nil || got != tc.want {
			t.Errorf("SquashfsExcludeLine(%q) = %q, %v; want %q", tc.rel, got, err, tc.want)
		}
	}
	if _, err := SquashfsExcludeLine("new\nline"); err == nil || !strings.Contains(err.Error(), "newline") {
		t.Errorf("a newline: %v", err)
	}
}

// TestSquashfsExclusionsWithMksquashfs runs mksquashfs on names that each need one of the
// escapes, excluding each name in turn: exactly that entry must be gone.
func TestSquashfsExclusionsWithMksquashfs(t *testing.T) {
	needTool(t, "mksquashfs", "unsquashfs")
	names := []string{" lead", "\tlead", "#hash", `\lead`, `back\slash`, "star*", "star", "q?", "qz", "[br]", "b", "... top", "top",
		"trail ", "trail", `q"uote`, "a b"}
	root := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(root, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "sub", "top"), 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, n := range names {
		list, image := filepath.Join(work, "ex"), filepath.Join(work, "i.sqfs")
		if err := writeSquashfsExcludes(list, []string{n}); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mksquashfs", root, image, "-noappend", "-quiet", "-no-progress", "-wildcards", "-ef", list).CombinedOutput(); err != nil {
			t.Fatalf("mksquashfs: %v\n%s", err, out)
		}
		out, err := exec.Command("unsquashfs", "-d", "", "-lc", image).Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		var want []string
		for _, m := range append([]string{"sub/top"}, names...) {
			if m != n {
				want = append(want, "/"+m)
			}
		}
		if strings.Join(sortedCopy(got), "|") != strings.Join(sortedCopy(want), "|") {
			t.Errorf("excluding %q left %q", n, got)
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

func TestDebugfsQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/a b", `"/a b"`},
		{`/q"uote`, `"/q""uote"`},
		{`/back\slash`, `"/back\slash"`},
		{"/#x", `"/#x"`},
	} {
		if got, err := debugfsQuote(tc.in); err != nil || got != tc.want {
			t.Errorf("debugfsQuote(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"/a\nb", "/a\rb"} {
		if _, err := debugfsQuote(bad); err == nil {
			t.Errorf("debugfsQuote(%q) succeeded", bad)
		}
	}
}

func TestParseMke2fsVersion(t *testing.T) {
	for _, tc := range []struct {
		out      string
		want     string
		tar, err bool
	}{
		{"mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0\n", "1.47.0", false, false},
		{"mke2fs 1.47.1 (20-May-2024)\n", "1.47.1", true, false},
		{"mke2fs 1.47.2 (1-Jan-2025)\n", "1.47.2", true, false},
		{"mke2fs 1.48 (1-Jan-2026)\n", "1.48.0", true, false},
		{"mke2fs 1.46.5 (30-Dec-2021)\n", "1.46.5", false, false},
		{"mke2fs 2.0.0\n", "2.0.0", true, false},
		{"something else\n", "", false, true},
	} {
		v, err := ParseMke2fsVersion(tc.out)
		if (err != nil) != tc.err || (err == nil && (v.String() != tc.want || v.AtLeast(1, 47, 1) != tc.tar)) {
			t.Errorf("%q: %v, %v (tar %v); want %s (tar %v), error %v", tc.out, v, err, v.AtLeast(1, 47, 1), tc.want, tc.tar, tc.err)
		}
	}
}

// TestMeasureTree counts a small tree by hand: hard links once, long symlinks a block,
// directories their entries, empty directories a block; owners and lost+found noticed.
func TestMeasureTree(t *testing.T) {
	root := t.TempDir()
	write := func(rel string, size int) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 1)          // 1 block
	write("d/b", 4096)     // 1 block
	write("d/c", 4097)     // 2 blocks
	write("skip/big", 1e6) // excluded
	write("lost+found/x", 0)
	if err := os.Link(filepath.Join(root, "d/c"), filepath.Join(root, "c-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "short")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(strings.Repeat("x", 60), filepath.Join(root, "long")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := tree.NewMatcher([]string{"skip"})
	ts, err := MeasureTree(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	want := TreeSize{Files: 5, Dirs: 4, Symlinks: 2, Bytes: 1 + 4096 + 4097 + 0, Inodes: 4 + 4 + 2,
		// contents 1+1+2, the long symlink 1, root, d, lost+found and empty a block each
		Blocks: 4 + 1 + 4, UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), RootHasLostFound: true}
	if ts != want {
		t.Errorf("got  %+v\nwant %+v", ts, want)
	}
	if got := want.Ext4Size(); got != 64<<20 {
		t.Errorf("a tiny tree's image is %d bytes, want the 64 MiB floor", got)
	}
	if got := want.Ext4Inodes(64 << 20); got != 4096 {
		t.Errorf("inodes of a 64 MiB image: %d, want mke2fs's default 4096", got)
	}
}

// TestExt4SizeFormula checks the formula's arithmetic on a big tree: (blocks × 4 KiB +
// (inodes + 20% + 1024) × 256 B) × 1.2, rounded up to a MiB.
func TestExt4SizeFormula(t *testing.T) {
	ts := TreeSize{Inodes: 100000, Blocks: 1000000}
	raw := int64(1000000*4096 + (100000+20000+1024)*256)
	want := (raw + raw/5 + 1<<20 - 1) / (1 << 20) * (1 << 20)
	if got := ts.Ext4Size(); got != want || got < 4915200000 {
		t.Errorf("Ext4Size = %d, want %d", got, want)
	}
	if got := ts.Ext4Inodes(1 << 30); got != 121024 {
		t.Errorf("Ext4Inodes of a 1 GiB image = %d, want 121024", got)
	}
	if got := ts.Ext4Inodes(15 << 30); got != 15<<30/16384 {
		t.Errorf("Ext4Inodes of a 15 GiB image = %d, want mke2fs's default %d", got, 15<<30/16384)
	}
	if ScratchSize(10) != 1<<30 || ScratchSize(3<<30) != 6<<30 {
		t.Errorf("ScratchSize: %d, %d", ScratchSize(10), ScratchSize(3<<30))
	}
}

// TestRunScratchStepMakesAnEmptyExt4 runs the scratch step as an image method does (the
// tree's bytes unknown): a sparse file with an empty ext4 file system of the right size.
func TestRunScratchStepMakesAnEmptyExt4(t *testing.T) {
	needTool(t, "mkfs.ext4", "dumpe2fs")
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Config{Params: Params{"upper": "disk", "compression": "none", "block_size": int64(131072)}, Tree: root, Work: t.TempDir(),
		Owner: &tree.Owner{UID: 1, GID: 1}}
	var log bytes.Buffer
	steps := planOf(Squashfs{}, c).Steps
	if len(steps) != 2 || steps[1].Commands[0][0] != "mkfs.ext4" || steps[0].Commands[0][0] != "mksquashfs" {
		t.Fatalf("steps %+v", steps)
	}
	if _, err := runStep(context.Background(), steps[1], Env{Log: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	out, err := exec.Command("dumpe2fs", "-h", filepath.Join(c.Work, ScratchFile)).CombinedOutput()
	if err != nil {
		t.Fatalf("dumpe2fs: %v\n%s", err, out)
	}
	for _, want := range []string{"Block count:              262144", "Inode count:              262144", "Reserved block count:     0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dumpe2fs lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "has_journal") {
		t.Errorf("the scratch disk has a journal")
	}
	fi, _ := os.Stat(filepath.Join(c.Work, ScratchFile))
	if fi.Size() != 1<<30 {
		t.Errorf("scratch file size %d, want 1 GiB", fi.Size())
	}
}

// TestHandBuild: each image method's command by hand reads the given copy, excludes nothing
// and keeps every other option of the planned build.
func TestHandBuild(t *testing.T) {
	const src = "/copy/of/tree"
	n := 0
	for _, name := range Names() {
		m, _ := Lookup(name)
		hb, ok := m.(HandBuilder)
		if !ok {
			continue
		}
		n++
		c := imageCfg(Params{"compression": "none", "block_size": int64(131072), "size": "auto"}, []string{".git", "build/stage1"})
		planned := stepOf(m, withTools(m, c), StepBuildImage).Commands[0]
		got, err := hb.HandBuild(withTools(m, c), src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var kept []string // the planned options that are neither the tree nor an exclusion
		for i := 0; i < len(planned); i++ {
			switch a := planned[i]; {
			case a == c.Tree || a == "<the filtered tree>" || a == "-" || strings.HasPrefix(a, "--exclude-path=") || a == "-wildcards":
			case a == "-ef":
				i++
			case strings.Contains(a, "/view/") || strings.HasSuffix(a, "/staging"):
			default:
				kept = append(kept, a)
			}
		}
		joined := strings.Join(got, " ")
		if !slices.Contains(got, src) || strings.Contains(joined, ".git") || strings.Contains(joined, "stage1") || strings.Contains(joined, c.Tree) {
			t.Errorf("%s: command by hand %q: want %s as its source and nothing excluded", name, got, src)
		}
		if other := slices.DeleteFunc(slices.Clone(got), func(a string) bool { return a == src }); !slices.Equal(other, kept) {
			t.Errorf("%s: command by hand %q\nkeeps %q of the planned %q", name, got, kept, planned)
		}
		if hb.BeyondHand() == "" {
			t.Errorf("%s says nothing of what its build does beyond the command by hand", name)
		}
	}
	if n != 3 {
		t.Errorf("%d methods build by hand, want the three image methods", n)
	}
}

// TestProgName: a tool's messages name the tool, also when a fetched one runs through its
// loader.
func TestProgName(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"mkfs.ext4", "-d", "-"}, "mkfs.ext4"},
		{[]string{"/usr/bin/mksquashfs", "a", "b"}, "/usr/bin/mksquashfs"},
		{[]string{"/lib64/ld-linux-x86-64.so.2", "--library-path", "/c/usr/lib/x86_64-linux-gnu", "/c/usr/sbin/mke2fs", "-d", "-"}, "mke2fs"},
		{[]string{"/c/usr/lib/ld-linux-aarch64.so.1", "--argv0", "x", "/c/usr/libexec/virtiofsd"}, "virtiofsd"},
		{[]string{"/lib64/ld-linux-x86-64.so.2"}, "/lib64/ld-linux-x86-64.so.2"},
	} {
		if got := progName(tc.argv); got != tc.want {
			t.Errorf("progName(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}
