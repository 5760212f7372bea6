package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
	"github.com/vmfsbench/vmfsbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestMain lets the test binary act as this program's child processes, as main does.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// needTool skips the test loudly when a host tool is missing, unless CI is set.
func needTool(t *testing.T, tools ...string) {
	t.Helper()
	testenv.Tool(t, tools...)
}

func TestWriteReportGolden(t *testing.T) {
	m := machine{date: "2026-11-24 12:00 UTC", cpu: "AMD EPYC", os: "Debian GNU/Linux 12 (bookworm)", kernel: "6.1.0",
		cores: 2, memGiB: 24, tools: []string{"QEMU 7.2.22", "e2fsprogs 1.47.0"}, load: "1.00 0.50 0.25"}
	figs := []figure{
		{name: "tar stream through a pipe, vs `tar -c | cat`", ours: "700.0 MB/s", ref: "650.0 MB/s", ratio: "1.08", goal: goalAtLeast1, met: met},
		{name: "ext4 image build", ours: "2.17 s", ref: "1.93 s", ratio: "1.12", goal: goalAtMost1, met: missed,
			note: "missed by 0.24 s (12 %)."},
		{name: "boot to agent-ready", ours: "ready 5.26 s", ref: "exit 4.83 s", ratio: "1.09", note: "medians of 3 boots."},
		{name: "peak memory", ours: "15.7 MiB"},
	}
	var b bytes.Buffer
	writeReport(&b, m, figs, 273_400_000_000)
	golden := filepath.Join("testdata", "report.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("report:\n%s\nwant (%s; go test -update rewrites it):\n%s", b.Bytes(), golden, want)
	}
}

func TestVersionWord(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright", "7.2.22"},
		{"tar (GNU tar) 1.34\nCopyright (C) 2021", "1.34"},
		{"mksquashfs version 4.5.1 (2022/03/17)", "4.5.1"},
		{"mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0", "1.47.0"},
		{"go version go1.26.8 linux/amd64", "1.26.8"},
		{"mkfs.erofs 1.5\nusage: [options] FILE DIRECTORY", "1.5"},
		{"no version here", ""},
	} {
		if got := versionWord(tc.in); got != tc.want {
			t.Errorf("versionWord(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStats(t *testing.T) {
	for _, tc := range []struct {
		walls, cpus []float64
		want        stats
	}{
		{[]float64{3, 1, 2}, []float64{1, 1, 1}, stats{best: 1, median: 2, cpu: 1}},
		{[]float64{4, 1, 2, 10}, []float64{0.5, 0.25, 1, 2}, stats{best: 1, median: 3, cpu: 0.75}},
		{[]float64{7}, []float64{6}, stats{best: 7, median: 7, cpu: 6}},
	} {
		var ss []sample
		for i := range tc.walls {
			ss = append(ss, sample{wall: tc.walls[i], cpu: tc.cpus[i]})
		}
		if got := statsOf(ss); got != tc.want {
			t.Errorf("statsOf(%v) = %+v, want %+v", ss, got, tc.want)
		}
	}
	if got := (stats{best: 0.25, median: 0.5, cpu: 0.004}).String(); got != "0.25 s (median 0.50 s, cpu 4.0 ms)" {
		t.Errorf("String = %q", got)
	}
}

func TestParseHWM(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"Name:\tx\nVmPeak:\t  1000 kB\nVmHWM:\t   15912 kB\nVmRSS:\t 100 kB\n", 15912, false},
		{"Name:\tzombie\nState:\tZ (zombie)\n", 0, true},
		{"VmHWM:\t12 MB\n", 0, true},
	} {
		got, err := parseHWM(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseHWM(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// benchCells expands the bench spec with the given host facts and directories.
func benchCells(t *testing.T, h plan.Host, d plan.Dirs) (*spec.Experiment, []plan.Cell) {
	t.Helper()
	e, err := spec.Parse("bench.yaml", []byte(benchSpec(options{files: 20000, mib: 300, accel: "tcg"})))
	if err != nil {
		t.Fatal(err)
	}
	cells, err := plan.Expand(e, h, d, plan.Choices{})
	if err != nil {
		t.Fatal(err)
	}
	return e, cells
}

func TestBenchSpec(t *testing.T) {
	e, cells := benchCells(t, plan.Host{Kernel: unbooted}, plan.PlanDirs)
	var methods []string
	for _, c := range cells {
		methods = append(methods, c.Method)
	}
	want := []string{"erofs", "ext4", "squashfs", "serial-tar", "ssh-tar"}
	if !slices.Equal(methods, want) {
		t.Errorf("cells of methods %q, want %q", methods, want)
	}
	if e.Tree.Synthetic == nil || e.Tree.Synthetic.Files != 20000 || e.Tree.Synthetic.Bytes != 300<<20 {
		t.Errorf("tree %+v, want the 20,000-file, 300 MiB synthetic tree", e.Tree)
	}
	if !slices.Equal(e.Tree.Exclude, excludeRules) || e.Tree.Owner == nil || e.Tree.Owner.UID != benchOwner.UID {
		t.Errorf("exclude %q owner %+v, want %q and %+v", e.Tree.Exclude, e.Tree.Owner, excludeRules, benchOwner)
	}
}

// TestHandCommand checks the commands run by hand, as the methods give them: the build's own
// options, the filtered copy as the source, no exclusions.
func TestHandCommand(t *testing.T) {
	const root, copyDir = "/t/tree", "/s/filtered"
	ts := method.TreeSize{Files: 16358, Dirs: 491, Symlinks: 5, Bytes: 183246382, Inodes: 16854, Blocks: 56719}
	h := plan.Host{Tree: root, Hidden: []string{".git", "build/stage1"}, Size: ts, Kernel: unbooted}
	e, cells := benchCells(t, h, plan.Dirs{Run: "/r", Sockets: "/s", HostPort: func() int { return plan.PlanHostPort }})
	want := map[string][]string{
		"squashfs": {"mksquashfs", copyDir, "/r/work/squashfs.compression-none__asis__r1/tree.sqfs", "-noappend", "-quiet",
			"-no-progress", "-no-xattrs", "-b", "131072", "-noI", "-noId", "-noD", "-noF", "-noX", "-force-uid", "1001",
			"-force-gid", "1001"},
		"erofs": {"mkfs.erofs", "--quiet", "--preserve-mtime", "--force-uid=1001", "--force-gid=1001",
			"/r/work/erofs.compression-none__asis__r1/tree.erofs", copyDir},
		"ext4": {"mkfs.ext4", "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0", "-E",
			"lazy_itable_init=0,lazy_journal_init=0", "-N", "21248", "-d", copyDir, "/r/work/ext4__asis__r1/tree.ext4", "279552k"},
	}
	seen := 0
	for _, c := range cells {
		w, ok := want[c.Method]
		if !ok {
			if _, err := handCommand(e, h, c, copyDir); err == nil {
				t.Errorf("%s: a command by hand for a method without a build", c.Method)
			}
			continue
		}
		seen++
		got, err := handCommand(e, h, c, copyDir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: command by hand\n%q\nwant\n%q", c.Method, got, w)
		}
		if beyondHand(c.Method) == "" {
			t.Errorf("%s: nothing says what its build does beyond the command by hand", c.Method)
		}
	}
	if seen != len(want) {
		t.Errorf("%d image cells in the bench spec, want %d", seen, len(want))
	}
}

func readTestCells(t *testing.T) []*results.Cell {
	t.Helper()
	cells, err := readCells("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

func TestOverheadFigures(t *testing.T) {
	cells := readTestCells(t)
	walls := 0.0
	for _, c := range cells {
		walls += c.Wall
	}
	for _, tc := range []struct {
		name          string
		processWall   float64
		wantRunRatio  string
		wantRunVerdct verdict
	}{
		{"start-up and reports under 0.5 s a cell", walls + 0.268917078, "0.33 %", met},
		{"2 s a cell, 11 %", walls + 10, "11.06 %", missed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			figs := overheadFigures(cells, tc.processWall)
			if len(figs) != 2 {
				t.Fatalf("%d figures, want 2", len(figs))
			}
			cell, run := figs[0], figs[1]
			// The worst cell, by share of its wall time, is squashfs: 1.6 ms of 9.1 s.
			if cell.ours != "1.6 ms (squashfs.compression=none/asis/r1)" || cell.ratio != "0.018 %" || cell.met != met {
				t.Errorf("per-cell figure %+v", cell)
			}
			if !strings.Contains(cell.note, "ssh-tar/asis/r1 2.7 ms") {
				t.Errorf("per-cell note %q does not list every cell", cell.note)
			}
			if run.ratio != tc.wantRunRatio || run.met != tc.wantRunVerdct {
				t.Errorf("per-run figure %+v, want ratio %s, %v", run, tc.wantRunRatio, tc.wantRunVerdct)
			}
		})
	}
	// A cell whose phases leave a second out of 10 misses the goal.
	slow := *cells[0]
	slow.Wall = 10
	slow.Phases = map[results.Phase]float64{results.PhaseBoot: 5, results.PhaseWorkload: 4}
	if f := overheadFigures([]*results.Cell{&slow}, 10)[0]; f.met != missed || f.ratio != "10.000 %" {
		t.Errorf("slow cell: %+v", f)
	}
}

func TestTransferFigures(t *testing.T) {
	figs := transferFigures(readTestCells(t), 183246382, 0.5)
	var names []string
	for _, f := range figs {
		names = append(names, f.name+" = "+f.ours+" / "+f.ref+" = "+f.ratio)
	}
	want := []string{
		"serial-tar transfer into the guest vs `tar | tar` on the host = 11.0 s, 16.6 MB/s / 0.50 s, 366.5 MB/s = 0.05",
		"ssh-tar transfer into the guest vs `tar | tar` on the host = 26.7 s, 6.9 MB/s / 0.50 s, 366.5 MB/s = 0.02",
		"ssh-tar vs serial-tar transfer = 6.9 MB/s / 16.6 MB/s (serial-tar) = 0.41",
	}
	if !slices.Equal(names, want) {
		t.Errorf("figures:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

func TestBuildShareFigure(t *testing.T) {
	ref, err := results.ReadReference("../../../results/reference/seed-2024-10.csv")
	if err != nil {
		t.Fatal(err)
	}
	f, ok := buildShareFigure(readTestCells(t), ref)
	want := "erofs 0.65 s of 9.27 s (7 %); ext4 2.26 s of 10.3 s (22 %); squashfs 0.36 s of 9.12 s (4 %)"
	if !ok || f.ours != want {
		t.Errorf("figure %q, %v; want %q", f.ours, ok, want)
	}
	// The seed study's figures come from the reference CSV, not from the bench's source.
	seed := "In the seed study's LLVM tree (../../../results/reference/seed-2024-10.csv) the builds took " +
		"3-17 s of squashfs cells of 676-693 s and 30-38 s of ext4 cells of 694-702 s: 0.4-5.4 %."
	if !strings.HasSuffix(f.note, " "+seed) || strings.Contains(f.note, "reuse_images") {
		t.Errorf("note %q\nwant it to end with %q", f.note, seed)
	}
	if f, _ := buildShareFigure(readTestCells(t), nil); strings.Contains(f.note, "seed") {
		t.Errorf("note without a reference %q names the seed study", f.note)
	}
	if _, ok := buildShareFigure(nil, ref); ok {
		t.Error("a figure from no cells")
	}
}

func TestReferenceBuildShare(t *testing.T) {
	x := func(v float64) *float64 { return &v }
	ref := &results.Reference{Path: "ref.csv", Rows: []results.ReferenceRow{
		{Method: "9p", Cache: "empty", Total: x(785)},
		{Method: "erofs", Cache: "empty", Total: x(100), Build: x(20)},
		{Method: "ssh-tar", Cache: "empty", Build: x(1)},
	}}
	want := "In the seed study's LLVM tree (ref.csv) the builds took 20 s of erofs cells of 100 s: 20 %."
	if got := referenceBuildShare(ref); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := referenceBuildShare(&results.Reference{Rows: ref.Rows[:1]}); got != "" {
		t.Errorf("no row with a build: got %q", got)
	}
}

func TestReadCellsRefusesFailures(t *testing.T) {
	dir := t.TempDir()
	c := results.Cell{ID: "squashfs/asis/r1", Error: "build-image: mksquashfs: exit status 1", Phases: map[results.Phase]float64{}}
	c.Finish(c.Start.Add(1e9))
	if err := results.WriteCell(dir, "squashfs__asis__r1", &c, &results.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := readCells(dir); err == nil || !strings.Contains(err.Error(), "mksquashfs") {
		t.Errorf("err %v, want the failed cell's error", err)
	}
	if _, err := readCells(t.TempDir()); err == nil {
		t.Error("no error for a run without cells")
	}
}

// smallTree is a synthetic tree small enough for tests, generated once per test binary.
func smallTree(t *testing.T) string {
	t.Helper()
	dir, err := synthetic.Ensure(context.Background(), filepath.Join(os.TempDir(), "vmfsbench-bench-test"),
		synthetic.Tree{Files: 600, Bytes: 3 << 20, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFindArgv runs find with the prune expression and compares what it prints with
// tree.Walk, on a tree whose excluded paths need escaping.
func TestFindArgv(t *testing.T) {
	needTool(t, "find")
	root := t.TempDir()
	for _, p := range []string{"keep/a", "keep/b", "x[1]/y", "x1/z", "star*/q", "deep/er/gone/f", "deep/er/stay"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := tree.NewMatcher([]string{"x[[]1]", "star*", "deep/er/gone"})
	if err != nil {
		t.Fatal(err)
	}
	hidden, err := tree.ExcludedRoots(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(hidden) != 3 {
		t.Fatalf("excluded roots %q, want x[1], star* and deep/er/gone", hidden)
	}
	var walked []string
	if err := tree.Walk(context.Background(), root, m, func(e tree.Entry) error {
		walked = append(walked, e.Rel)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	argv := findArgv(root, hidden)
	argv[len(argv)-1] = `%P\n` // the relative path instead of the size, to compare
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatal(err)
	}
	found := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if found[0] != "" {
		t.Fatalf("find printed %q first, want the root (an empty line)", found[0])
	}
	found = found[1:]
	slices.Sort(found)
	slices.Sort(walked)
	if !slices.Equal(found, walked) {
		t.Errorf("find %q printed\n%q\ntree.Walk\n%q", argv, found, walked)
	}
}

func TestTimeCommand(t *testing.T) {
	needTool(t, "sh", "cat", "head")
	ctx := context.Background()
	for _, mode := range []stdoutMode{toDevNull, toPipe} {
		s, err := timeCommand(ctx, []string{"sh", "-c", "head -c 50000000 /dev/zero"}, nil, mode)
		if err != nil {
			t.Fatal(err)
		}
		if s.wall <= 0 || s.cpu < 0 || s.cpu > s.wall*2+0.1 {
			t.Errorf("mode %d: %+v", mode, s)
		}
	}
	_, err := timeCommand(ctx, []string{"sh", "-c", "echo broken pipe dream >&2; exit 3"}, nil, toPipe)
	if err == nil || !strings.Contains(err.Error(), "broken pipe dream") {
		t.Errorf("err %v, want the command's stderr", err)
	}
	// The environment reaches the command.
	if _, err := timeCommand(ctx, []string{"sh", "-c", `test "$BENCH_X" = y`}, []string{"BENCH_X=y"}, toDevNull); err != nil {
		t.Errorf("environment not passed: %v", err)
	}
}

// TestChildTar runs the test binary as the tar child and checks that it streams what
// tree.WriteTar streams with the bench's exclusions and owner.
func TestChildTar(t *testing.T) {
	root := smallTree(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, root)
	cmd.Env = append(os.Environ(), childEnv+"="+childTar)
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := tree.NewMatcher(excludeRules)
	var want bytes.Buffer
	if _, err := tree.WriteTar(context.Background(), &want, root, m, &benchOwner); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("child streamed %d bytes, WriteTar %d", len(got), want.Len())
	}
	var stderr bytes.Buffer
	if code := child(childTar, nil, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "one argument") {
		t.Errorf("child without a tree: status %d, %q", code, stderr.String())
	}
	if code := child("nonsense", []string{root}, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "nonsense") {
		t.Errorf("unknown mode: status %d, %q", code, stderr.String())
	}
}

// TestFlatTreePasses makes a flat tree and runs the passes child over it.
func TestFlatTreePasses(t *testing.T) {
	dir := t.TempDir()
	const n = 2500
	if err := makeFlatTree(dir, n); err != nil {
		t.Fatal(err)
	}
	b := &bench{}
	var err error
	if b.self, err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	res, err := b.passes(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// n files in 3 directories, and build/ itself; .git and build/stage1 are excluded.
	if want := int64(n + 3 + 1); res.Entries != want {
		t.Errorf("entries %d, want %d", res.Entries, want)
	}
	for _, p := range []string{"excluded-roots", "measure", "digest", "tar"} {
		if _, ok := res.Seconds[p]; !ok {
			t.Errorf("no time for pass %s: %v", p, res.Seconds)
		}
	}
	if res.HWMKiB < 1024 || res.HWMKiB > 1<<20 {
		t.Errorf("peak memory %d KiB: not a plausible VmHWM", res.HWMKiB)
	}
	removeFlatTree(dir)
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s still exists", dir)
	}
}

func TestMakeFilteredCopy(t *testing.T) {
	needTool(t, "cp", "chown")
	root := smallTree(t)
	m, _ := tree.NewMatcher(excludeRules)
	ctx := context.Background()
	hidden, err := tree.ExcludedRoots(ctx, root, m)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := makeFilteredCopy(ctx, root, dst, hidden, benchOwner); err != nil {
		t.Fatal(err)
	}
	want, _ := tree.DigestTree(ctx, root, m)
	got, err := tree.DigestTree(ctx, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("copy %+v, filtered tree %+v", got, want)
	}
	ts, err := method.MeasureTree(ctx, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return // the copy keeps the tree's owners: only root may give it others
	}
	if ts.MixedOwners || ts.UID != uint32(benchOwner.UID) || ts.GID != uint32(benchOwner.GID) {
		t.Errorf("copy owned by %d:%d (mixed %v), want %d:%d", ts.UID, ts.GID, ts.MixedOwners, benchOwner.UID, benchOwner.GID)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-runs", "2", "-huge=false"}, io.Discard)
	if err != nil || o.runs != 2 || o.huge || !o.guest || o.vmfsbench != "bin/vmfsbench" {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	o, err = parseFlags([]string{"-only", "tar,boot"}, io.Discard)
	if err != nil || !o.only["tar"] || !o.only["boot"] || len(o.only) != 2 {
		t.Errorf("-only tar,boot: %v, %v", o.only, err)
	}
	for _, args := range [][]string{{"-runs", "0"}, {"extra"}, {"-nope"}, {"-only", "tar,nope"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestExt4RouteAndTool(t *testing.T) {
	if got := ext4Route("ext4: the filtered tree has...\next4: route view: private mount namespace"); got != "view" {
		t.Errorf("route %q, want view", got)
	}
	if got := ext4Route("ext4: route staging: a staging tree"); got != "staging" {
		t.Errorf("route %q, want staging", got)
	}
	if got := (machine{tools: []string{"QEMU 7.2.22", "e2fsprogs 1.47.0"}}).tool("e2fsprogs"); got != "1.47.0" {
		t.Errorf("tool = %q", got)
	}
}
