package plan

import (
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

const execSpec = `version: 1
name: ex
tree: {path: /src/tree}
guest: {mountpoint: /work/tree}
workload: {cwd: build, command: [make, check], timeout: 7m}
cache: [empty, warm]
repetitions: 3
methods:
  - 9p: {msize: [8192, 512000], cache: none}
  - erofs: {compression: [lz4, none]}
  - 9p: {msize: 65536, cache: loose}
`

// TestForExec: exec narrows the spec to one planned cell of the named method entry (its
// first swept value, or the named variant's), cache asis, one repetition, the command in
// place of the workload; a name the spec lacks lists the ones it has.
func TestForExec(t *testing.T) {
	e := parse(t, execSpec)
	for _, tc := range []struct {
		method, cwd, wantID, wantCwd string
	}{
		{"", "", "9p.msize=8192.cache=none/asis/r1", "build"},
		{"9p", "", "9p.msize=8192.cache=none/asis/r1", "build"},
		{"erofs", "sub/dir/", "erofs.compression=lz4/asis/r1", "sub/dir"},
		{"erofs.compression=none", ".", "erofs.compression=none/asis/r1", "."},
		{"9p.msize=65536.cache=loose", "", "9p.msize=65536.cache=loose/asis/r1", "build"},
	} {
		n, err := ForExec(e, ExecRequest{Method: tc.method, Command: []string{"ls", "-l"}, Cwd: tc.cwd})
		if err != nil {
			t.Fatalf("%q: %v", tc.method, err)
		}
		cells, err := Expand(n, fixedHost, fixedDirs, Choices{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != 1 || cells[0].ID != tc.wantID {
			t.Fatalf("%q: cells %v, want one: %s", tc.method, cells, tc.wantID)
		}
		w := cells[0].Job.Workload
		if w.Kind != protocol.WorkloadExec || strings.Join(w.Argv, " ") != "ls -l" || w.Cwd != tc.wantCwd || w.Timeout != 420 {
			t.Errorf("%q: workload %+v, want ls -l in %s with the spec's timeout", tc.method, w, tc.wantCwd)
		}
	}
	if len(e.Methods) != 3 || len(e.Cache) != 2 || e.Workload.Command[0] != "make" {
		t.Errorf("ForExec changed the spec it was given: %+v", e)
	}
	_, err := ForExec(e, ExecRequest{Method: "squashfs", Command: []string{"ls"}})
	if err == nil || !strings.Contains(err.Error(), "9p.msize=512000.cache=none") {
		t.Errorf("unknown method: %v, want the variants listed", err)
	}
	for _, cwd := range []string{"/abs", "..", "a/../../b"} {
		if _, err := ForExec(e, ExecRequest{Command: []string{"ls"}, Cwd: cwd}); err == nil {
			t.Errorf("--cwd %q accepted", cwd)
		}
	}
}

// TestAsGivenKeepsLitCommand: a measured llvm-lit workload gains lit's report (-o), the
// command exec runs with Choices.AsGiven stays exactly the user's.
func TestAsGivenKeepsLitCommand(t *testing.T) {
	n, err := ForExec(parse(t, execSpec), ExecRequest{Method: "9p", Command: []string{"../bin/llvm-lit", "-sv", "."}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		asGiven bool
		want    string
	}{
		{false, "../bin/llvm-lit -sv . -o " + LitReportFile},
		{true, "../bin/llvm-lit -sv ."},
	} {
		cells, err := Expand(n, fixedHost, fixedDirs, Choices{AsGiven: tc.asGiven})
		if err != nil {
			t.Fatal(err)
		}
		if w := cells[0].Job.Workload; strings.Join(w.Argv, " ") != tc.want || (w.LitReport == "") != tc.asGiven {
			t.Errorf("AsGiven %v: argv %q, report %q; want %q", tc.asGiven, w.Argv, w.LitReport, tc.want)
		}
	}
}
