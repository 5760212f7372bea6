package run

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/results"
)

func writeSpec(t *testing.T, dir, body string) string {
	t.Helper()
	f := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeFinishedCell(t *testing.T, dir, id string) {
	t.Helper()
	c := &results.Cell{ID: id, Status: results.StatusOK, Start: time.Now(), End: time.Now()}
	if err := results.WriteJSON(filepath.Join(dir, results.CellsDir, strings.ReplaceAll(id, "/", "__")+".json"), c); err != nil {
		t.Fatal(err)
	}
}

// TestOpenOutEarlyExit (finding 2): a run directory left by an early exit (spec.yaml and
// cells/, no run.json, no finished cell) is taken again by a new run and resumes; once it
// holds a finished cell a new run is refused and --resume skips that cell.
func TestOpenOutEarlyExit(t *testing.T) {
	tmp := t.TempDir()
	specFile := writeSpec(t, tmp, "version: 1\n")
	out := filepath.Join(tmp, "out")
	// What an early exit of the old PrepareOut left.
	if err := os.MkdirAll(filepath.Join(out, results.CellsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, results.SpecFile), []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := OpenOut(out, specFile, false)
	if err != nil {
		t.Fatalf("new run into an early exit's directory: %v", err)
	}
	o.Close()
	o, err = OpenOut(out, "", true)
	if err != nil {
		t.Fatalf("resume without run.json: %v", err)
	}
	if o.Meta != nil || len(o.Done) != 0 || o.SpecFile != filepath.Join(out, results.SpecFile) {
		t.Errorf("resume: meta %v, done %v, spec %s", o.Meta, o.Done, o.SpecFile)
	}
	writeFinishedCell(t, out, "9p/asis/r1")
	o.Close()

	if _, err := OpenOut(out, specFile, false); !errors.Is(err, ErrHoldsRun) || !strings.Contains(err.Error(), "--resume "+out) {
		t.Errorf("new run into a directory with a finished cell: %v", err)
	}
	o, err = OpenOut(out, specFile, true)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	defer o.Close()
	if len(o.Done) != 1 || o.Done["9p/asis/r1"] == nil {
		t.Errorf("resume: done %v, want 9p/asis/r1", o.Done)
	}
	// Another spec is refused on resume.
	other := writeSpec(t, t.TempDir(), "version: 1\nname: other\n")
	o.Close()
	if _, err := OpenOut(out, other, true); err == nil || !strings.Contains(err.Error(), "spec changed") {
		t.Errorf("resume with another spec: %v", err)
	}
}

// TestOpenOutLock (finding 3): while a run or a resume holds a run directory, another run
// or resume of it is refused with the holder's pid, and takes it once the holder closes.
func TestOpenOutLock(t *testing.T) {
	tmp := t.TempDir()
	specFile := writeSpec(t, tmp, "version: 1\n")
	out := filepath.Join(tmp, "results", "runs", "x", "20260101-000000")
	opened := make([]*OutDir, 8)
	errs := make([]error, len(opened))
	var wg sync.WaitGroup
	for i := range opened {
		wg.Add(1)
		go func() { defer wg.Done(); opened[i], errs[i] = OpenOut(out, specFile, i%2 == 1) }()
	}
	wg.Wait()
	var holder *OutDir
	want := fmt.Sprintf("%s is in use by another vmfsbench (pid %d, a run or --resume); wait for it to end or choose another directory", out, os.Getpid())
	for i, err := range errs {
		switch {
		case err == nil && holder == nil:
			holder = opened[i]
		case err == nil:
			t.Errorf("two users hold %s", out)
		case errors.Is(err, ErrLocked) && err.Error() == want:
		case i%2 == 1 && errors.Is(err, ErrNotRun): // a resume before the directory existed
		case i%2 == 1 && errors.Is(err, os.ErrNotExist):
		default:
			t.Errorf("open %d: %v", i, err)
		}
	}
	if holder == nil {
		t.Fatal("nobody got the directory")
	}
	for _, resume := range []bool{false, true} {
		if _, err := OpenOut(out, specFile, resume); !errors.Is(err, ErrLocked) {
			t.Errorf("open (resume %v) while held: %v", resume, err)
		}
	}
	// Another process sees the pid too.
	if os.Getenv("VMFSBENCH_LOCK_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpenOutLockChild$")
		cmd.Env = append(os.Environ(), "VMFSBENCH_LOCK_CHILD="+out)
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), fmt.Sprintf("pid %d", os.Getpid())) {
			t.Errorf("child: %v\n%s", err, b)
		}
	}
	holder.Close()
	o, err := OpenOut(out, specFile, true)
	if err != nil {
		t.Fatalf("resume after close: %v", err)
	}
	o.Close()
}

// TestOpenOutLockChild is TestOpenOutLock's second process.
func TestOpenOutLockChild(t *testing.T) {
	out := testenv.OptIn(t, "VMFSBENCH_LOCK_CHILD", "TestOpenOutLock's second process")
	_, err := OpenOut(out, "", true)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("want ErrLocked, got %v", err)
	}
	fmt.Println(err)
}

// TestOpenOutNotRun (finding 4): an existing non-empty directory that is not a run
// directory is refused, and nothing in it is written; an empty one is taken.
func TestOpenOutNotRun(t *testing.T) {
	tmp := t.TempDir()
	specFile := writeSpec(t, tmp, "version: 1\n")
	user := filepath.Join(tmp, "mine")
	if err := os.Mkdir(user, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "summary.csv"} {
		if err := os.WriteFile(filepath.Join(user, f), []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, resume := range []bool{false, true} {
		if _, err := OpenOut(user, specFile, resume); !errors.Is(err, ErrNotRun) {
			t.Errorf("resume %v: %v, want ErrNotRun", resume, err)
		}
	}
	entries, _ := os.ReadDir(user)
	if len(entries) != 2 {
		t.Errorf("%d entries in %s after the refusal, want the user's 2", len(entries), user)
	}
	for _, f := range []string{"report.md", "summary.csv"} {
		if b, _ := os.ReadFile(filepath.Join(user, f)); string(b) != "mine\n" {
			t.Errorf("%s changed: %q", f, b)
		}
	}
	// A plain file is not a directory to take either.
	if _, err := OpenOut(filepath.Join(user, "report.md"), specFile, false); err == nil {
		t.Error("a file taken as the run directory")
	}

	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := OpenOut(empty, specFile, false)
	if err != nil {
		t.Fatalf("empty directory: %v", err)
	}
	defer o.Close()
	for _, f := range []string{LockFile, results.SpecFile, results.CellsDir} {
		if _, err := os.Stat(filepath.Join(empty, f)); err != nil {
			t.Error(err)
		}
	}
	// No temporary directory is left beside a new one.
	o2, err := OpenOut(filepath.Join(tmp, "new"), specFile, false)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	matches, _ := filepath.Glob(filepath.Join(tmp, ".new.new-*"))
	if len(matches) != 0 {
		t.Errorf("left behind: %v", matches)
	}
}
