package spec

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLoadShippedSpecs(t *testing.T) {
	files, _ := filepath.Glob("../../specs/*.yaml")
	if len(files) < 4 {
		t.Fatalf("found %d specs in specs/, want at least 4", len(files))
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSeedSpec(t *testing.T) {
	e, err := Load("../../specs/seed-llvm-riscv64.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Methods) != 5 || len(e.Cache) != 2 {
		t.Fatalf("seed spec has %d methods and %d cache states, want 5 and 2", len(e.Methods), len(e.Cache))
	}
	home, _ := os.UserHomeDir()
	if want := filepath.Join(home, "llvm-project"); e.Tree.Path != want {
		t.Errorf("tree.path = %q, want %q (~ expanded)", e.Tree.Path, want)
	}
	if e.QEMU.Memory != 64<<30 || e.QEMU.CPUs != 32 || e.Workload.Timeout != 2*time.Hour {
		t.Errorf("qemu/workload = %+v %+v", e.QEMU, e.Workload)
	}
	abs, _ := filepath.Abs("../../results/reference/seed-2024-10.csv")
	if e.Reference != abs {
		t.Errorf("reference = %q, want %q (relative to the spec file)", e.Reference, abs)
	}
	p := e.Methods[0].Params[0]
	if p.Def.Name != "msize" || p.Values[0] != int64(512000) || !p.Given {
		t.Errorf("9p msize param = %+v", p)
	}
}

func TestDefaults(t *testing.T) {
	e, err := Parse("min.yaml", []byte("version: 1\nname: x\ntree: {path: t}\nmethods: [ext4: {}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Guest.Arch != DefaultArch || e.Guest.Mountpoint != DefaultMountpoint || e.QEMU.CPUs != DefaultCPUs ||
		e.QEMU.Memory != DefaultMemory || e.QEMU.Accel != DefaultAccel || e.Workload.Builtin != DefaultBuiltin ||
		e.Workload.Timeout != DefaultTimeout || e.Repetitions != 1 || e.Order != "interleaved" ||
		strings.Join(e.Cache, ",") != "empty,warm" {
		t.Errorf("defaults not applied: %+v", e)
	}
	if !filepath.IsAbs(e.Tree.Path) || filepath.Base(e.Tree.Path) != "t" {
		t.Errorf("tree.path = %q, want absolute path relative to the spec", e.Tree.Path)
	}
	if got := e.Methods[0].Params[0]; got.Given || got.Values[0] != "auto" {
		t.Errorf("ext4 size default = %+v", got)
	}
}

func TestSweepValues(t *testing.T) {
	e, err := Parse("s.yaml", []byte(`version: 1
name: s
tree: {path: /t}
methods:
  - squashfs: {block_size: [4KiB, 131072, 1MiB], compression: [none, zstd]}
`))
	if err != nil {
		t.Fatal(err)
	}
	bs := e.Methods[0].Params[1]
	if !bs.Swept() || len(bs.Values) != 3 || bs.Values[0] != int64(4096) || bs.Values[2] != int64(1<<20) {
		t.Errorf("block_size = %+v", bs)
	}
}

// schemaMisses names the bad specs whose rule is beyond JSON Schema: YAML syntax, the
// lower bound of a size written as a string, and gitignore rule syntax.
var schemaMisses = map[string]bool{"memory too small": true, "bad exclude rule": true, "syntax error": true,
	"duration past the bound": true, "duration past a Duration": true} // the schema bounds seconds, not a sum of units

// badSpecs are small specs with one mistake each and the exact error they must give. The
// schema test (schemas/) checks that the JSON Schema rejects them too.
var badSpecs = []struct {
	name, yaml, want string
}{
	{"unknown top field", "version: 1\nname: x\ntree: {path: /t}\nmethods: [ext4: {}]\nrepetiton: 3\n",
		"bad.yaml:5:1: repetiton: unknown field; expected one of cache, description, guest, methods, name, order, qemu, reference, repetitions, tree, version, workload"},
	{"missing name", "version: 1\ntree: {path: /t}\nmethods: [ext4: {}]\n",
		"bad.yaml:1:1: name: required field is missing"},
	{"wrong version", "version: 2\nname: x\ntree: {path: /t}\nmethods: [ext4: {}]\n",
		"bad.yaml:1:10: version: 2 is out of range, expected 1..1"},
	{"msize over cap", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - 9p: {msize: 1048576}\n",
		"bad.yaml:5:17: methods[0].9p.msize: 1048576 is out of range 4096..512000 (9p message size; the virtio transport caps it at 512000)"},
	{"unknown cache mode", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - virtiofs: {cache: none}\n",
		"bad.yaml:5:23: methods[0].virtiofs.cache: unknown value \"none\", expected one of always, auto, metadata, never"},
	{"unknown method", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - nfs: {}\n",
		"bad.yaml:5:5: methods[0]: unknown method \"nfs\", expected one of " + strings.Join(method.Names(), ", ")},
	{"unknown param", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - squashfs: {level: 3}\n",
		"bad.yaml:5:16: methods[0].squashfs.level: unknown field; expected one of " + paramNames("squashfs")},
	{"block size not power of two", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - squashfs: {block_size: 100KiB}\n",
		"bad.yaml:5:28: methods[0].squashfs.block_size: 102400 is not a power of two"},
	{"queue size over cap", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - virtiofs: {queue_size: 2048}\n",
		"bad.yaml:5:28: methods[0].virtiofs.queue_size: 2048 is out of range 64..1024 (virtqueue size of vhost-user-fs-pci, a power of two; QEMU caps it at 1024)"},
	{"bad size", "version: 1\nname: x\ntree: {path: /t}\nqemu: {memory: 2 gigs}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:16: qemu.memory: \"2 gigs\" is not a size (want e.g. 512000, 128KiB, 64GiB)"},
	{"bad duration", "version: 1\nname: x\ntree: {path: /t}\nworkload: {timeout: soon}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:21: workload.timeout: \"soon\" is not a duration (want e.g. 90s, 30m, 2h)"},
	{"duration past the bound", "version: 1\nname: x\ntree: {path: /t}\nworkload: {timeout: 400d}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:21: workload.timeout: duration \"400d\" is longer than 365d, the longest a spec takes"},
	{"seconds past the bound", "version: 1\nname: x\ntree: {path: /t}\nworkload: {timeout: 31536001}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:21: workload.timeout: duration \"31536001\" is longer than 365d, the longest a spec takes"},
	{"duration past a Duration", "version: 1\nname: x\ntree: {path: /t}\nqemu: {boot_timeout: 2562048h}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:22: qemu.boot_timeout: duration \"2562048h\" is longer than 365d, the longest a spec takes"},
	{"both path and synthetic", "version: 1\nname: x\ntree: {path: /t, synthetic: {files: 600, bytes: 1MiB}}\nmethods: [ext4: {}]\n",
		"bad.yaml:3:29: tree.synthetic: give either tree.path or tree.synthetic, not both"},
	{"neither path nor synthetic", "version: 1\nname: x\ntree: {exclude: [.git]}\nmethods: [ext4: {}]\n",
		"bad.yaml:3:7: tree.path: required field is missing (or give tree.synthetic)"},
	{"bad cache state", "version: 1\nname: x\ntree: {path: /t}\ncache: [cold]\nmethods: [ext4: {}]\n",
		"bad.yaml:4:9: cache[0]: unknown value \"cold\", expected one of empty, warm, asis"},
	{"repetitions zero", "version: 1\nname: x\ntree: {path: /t}\nrepetitions: 0\nmethods: [ext4: {}]\n",
		"bad.yaml:4:14: repetitions: 0 is out of range, expected 1..1000"},
	{"bad order", "version: 1\nname: x\ntree: {path: /t}\norder: random\nmethods: [ext4: {}]\n",
		"bad.yaml:4:8: order: unknown value \"random\", expected one of interleaved, grouped"},
	{"builtin and command", "version: 1\nname: x\ntree: {path: /t}\nworkload: {builtin: read-all, command: [ls]}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:40: workload.command: give either workload.builtin or workload.command, not both"},
	{"cwd escapes", "version: 1\nname: x\ntree: {path: /t}\nworkload: {command: [ls], cwd: ../x}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:32: workload.cwd: expected a path relative to guest.mountpoint and inside it, got \"../x\""},
	{"relative mountpoint", "version: 1\nname: x\ntree: {path: /t}\nguest: {mountpoint: tree}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:21: guest.mountpoint: expected an absolute guest path below /, got \"tree\""},
	{"bad arch", "version: 1\nname: x\ntree: {path: /t}\nguest: {arch: mips}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:15: guest.arch: unknown value \"mips\", expected one of x86_64, aarch64, riscv64"},
	{"owner missing gid", "version: 1\nname: x\ntree: {path: /t, owner: {uid: 1001}}\nmethods: [ext4: {}]\n",
		"bad.yaml:3:25: tree.owner.gid: required field is missing"},
	{"synthetic too small", "version: 1\nname: x\ntree: {synthetic: {files: 100, bytes: 1MiB}}\nmethods: [ext4: {}]\n",
		"bad.yaml:3:19: tree.synthetic: synthetic tree: files must be between 500 and 10000000, not 100"},
	{"ext4 size", "version: 1\nname: x\ntree: {path: /t}\nmethods: [ext4: {size: lots}]\n",
		"bad.yaml:4:24: methods[0].ext4.size: \"lots\" is not a size (want e.g. 512000, 128KiB, 64GiB), or auto"},
	{"empty methods", "version: 1\nname: x\ntree: {path: /t}\nmethods: []\n",
		"bad.yaml:4:10: methods: expected a non-empty list such as `- 9p: {msize: 512000}`, got a list"},
	{"empty sweep", "version: 1\nname: x\ntree: {path: /t}\nmethods:\n  - 9p: {msize: []}\n",
		"bad.yaml:5:17: methods[0].9p.msize: an empty list sweeps nothing; give at least one value"},
	{"bad name", "version: 1\nname: my study\ntree: {path: /t}\nmethods: [ext4: {}]\n",
		"bad.yaml:2:7: name: \"my study\" is not a valid name: use letters, digits, '.', '_' and '-' (it names the results directory)"},
	{"name too long for a directory", "version: 1\nname: " + strings.Repeat("n", 253) + "\ntree: {path: /t}\nmethods: [ext4: {}]\n",
		"bad.yaml:2:7: name: a name of 253 bytes is too long for the results directory it names (at most 252)"},
	{"qemu.args overriding memory", "version: 1\nname: x\ntree: {path: /t}\nqemu: {args: [-m, 4G]}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:15: qemu.args[0]: -m would override qemu.memory, which vmfsbench sizes the guest's devices by (pmem's memory slots, virtiofs' shared memory, the tmpfs a stream fills): set qemu.memory instead"},
	{"memory too small", "version: 1\nname: x\ntree: {path: /t}\nqemu: {memory: 64MiB}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:16: qemu.memory: 64MiB is too small, expected at least 128MiB"},
	{"kernel without modules", "version: 1\nname: x\ntree: {path: /t}\nguest: {kernel: /k}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:8: guest.modules: required when guest.kernel is given: the kernel's lib/modules/<version> directory"},
	{"cpus as string", "version: 1\nname: x\ntree: {path: /t}\nqemu: {cpus: many}\nmethods: [ext4: {}]\n",
		"bad.yaml:4:14: qemu.cpus: expected a whole number, got the string \"many\""},
	{"bad exclude rule", "version: 1\nname: x\ntree: {path: /t, exclude: [\"a/***/b[\"]}\nmethods: [ext4: {}]\n",
		""}, // the message comes from the matcher; only its position is checked
	{"syntax error", "version: 1\nname: x\ntree:\n\tpath: /t\nmethods: [ext4: {}]\n",
		"bad.yaml:4:1: invalid YAML: line 4: found character that cannot start any token"},
}

func TestBadSpecs(t *testing.T) {
	for _, tc := range badSpecs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("spec accepted, want an error")
			}
			var m *multierror.Error
			if !errors.As(err, &m) || len(m.Errors) != 1 {
				t.Fatalf("want exactly one error, got: %v", err)
			}
			if tc.want == "" {
				var fe *FieldError
				if !errors.As(m.Errors[0], &fe) || fe.Line != 3 || fe.Field != "tree.exclude[0]" {
					t.Fatalf("got %v, want an error at line 3 on tree.exclude[0]", err)
				}
				return
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestAllErrorsAtOnce loads a spec with several mistakes on different lines and compares the
// whole message with a golden file.
func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Load("testdata/three-mistakes.yaml")
	var m *multierror.Error
	if !errors.As(err, &m) || len(m.Errors) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	golden(t, "testdata/three-mistakes.golden", err.Error()+"\n")
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"2h", 2 * time.Hour, false}, {"90s", 90 * time.Second, false}, {"1h30m", 90 * time.Minute, false},
		{"600", 10 * time.Minute, false}, {"1d", 24 * time.Hour, false},
		{"0", 0, true}, {"-5m", 0, true}, {"soon", 0, true}, {"", 0, true}, {"99999999999999d", 0, true},
		{"365d", MaxDuration, false}, {"8760h", MaxDuration, false}, {"31536000", MaxDuration, false},
		{"366d", 0, true}, {"8761h", 0, true}, {"31536001", 0, true}, {"-99999999999", 0, true}, {"-3d", 0, true},
	} {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
	// Too long, however written: past the bound, past a time.Duration, past an int64.
	for _, in := range []string{"366d", "8761h", "2562048h", "9999999999999999999h", "99999999999999d", "99999999999999999999", "999999999999999999999d"} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), "is longer than 365d") {
			t.Errorf("ParseDuration(%q): %v, want it refused as too long", in, err)
		}
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// paramNames lists the parameters of method name's table, sorted, as an unknown field's error
// names them: the table says which, so that adding one touches no test of the loader.
func paramNames(name string) string {
	m, err := method.Lookup(name)
	if err != nil {
		panic(err)
	}
	var out []string
	for _, d := range m.Params() {
		out = append(out, d.Name)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
