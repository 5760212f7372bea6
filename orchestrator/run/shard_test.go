package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestShardsCoverEveryCell: for N = 1..7 and plans of 0..30 cells, the N shards together
// hold every cell exactly once, in plan order, their sizes differ by at most one, and
// consecutive cells (the methods and cache states of an interleaved plan) go to different
// shards.
func TestShardsCoverEveryCell(t *testing.T) {
	for n := 1; n <= 7; n++ {
		for size := 0; size <= 30; size++ {
			cells := make([]plan.Cell, size)
			for k := range cells {
				cells[k].ID = fmt.Sprintf("m%d/asis/r%d", k%5, k/5+1)
			}
			seen := map[string]int{}
			minLen, maxLen := size, 0
			for i := range n {
				sh := Shard{Index: i, Count: n}
				got := sh.Cells(cells)
				minLen, maxLen = min(minLen, len(got)), max(maxLen, len(got))
				for j, c := range got {
					seen[c.ID]++
					if j > 0 && got[j-1].ID >= c.ID && !sortedBefore(cells, got[j-1].ID, c.ID) {
						t.Errorf("N=%d shard %d: %s after %s, not in plan order", n, i, c.ID, got[j-1].ID)
					}
				}
				for k := 0; k+1 < size && n > 1; k++ {
					if sh.Has(k) && sh.Has(k+1) {
						t.Errorf("N=%d: cells %d and %d both in shard %d", n, k, k+1, i)
					}
				}
			}
			for _, c := range cells {
				if seen[c.ID] != 1 {
					t.Errorf("N=%d, %d cells: %s is in %d shards", n, size, c.ID, seen[c.ID])
				}
			}
			if size > 0 && maxLen-minLen > 1 {
				t.Errorf("N=%d, %d cells: shard sizes from %d to %d", n, size, minLen, maxLen)
			}
		}
	}
	if !(Shard{}).Has(3) || len((Shard{}).Cells(make([]plan.Cell, 4))) != 4 {
		t.Error("the zero Shard does not hold every cell")
	}
}

// sortedBefore reports whether a comes before b in cells.
func sortedBefore(cells []plan.Cell, a, b string) bool {
	for _, c := range cells {
		switch c.ID {
		case a:
			return true
		case b:
			return false
		}
	}
	return false
}

// TestParseShard: I/N with a number or a job system's index variable, and what is refused.
func TestParseShard(t *testing.T) {
	env := map[string]string{"SLURM_ARRAY_TASK_ID": "2", "JOB_COMPLETION_INDEX": "1"}
	getenv := func(k string) string { return env[k] }
	for in, want := range map[string]Shard{
		"0/1": {0, 1}, "3/4": {3, 4}, "$SLURM_ARRAY_TASK_ID/3": {2, 3},
		"${SLURM_ARRAY_TASK_ID}/5": {2, 5}, "$JOB_COMPLETION_INDEX/2": {1, 2},
	} {
		if got, err := ParseShard(in, getenv); err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"1":                      "want I/N",
		"4/4":                    "0 <= I < N",
		"-1/2":                   "0 <= I < N",
		"0/0":                    "N >= 1",
		"a/2":                    "want I/N with",
		"$HOME/2":                "may name only $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX",
		"$SLURM_ARRAY_TASK_ID/2": "$SLURM_ARRAY_TASK_ID is not set",
	} {
		ge := getenv
		if strings.HasPrefix(in, "$SLURM") {
			ge = func(string) string { return "" }
		}
		if _, err := ParseShard(in, ge); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseShard(%q): %v, want an error saying %q", in, err, msg)
		}
	}
}

// TestOpenShard: the shards of one run share its directory, made once by whichever comes
// first; a shard cannot run twice at once, nor beside a whole run or a shard of another N;
// a whole run waits for every shard; a shard of another spec is refused; run.json is written
// once.
func TestOpenShard(t *testing.T) {
	tmp := t.TempDir()
	specFile := writeSpec(t, tmp, "version: 1\nname: a\n")
	out := filepath.Join(tmp, "run")

	// Four shards start together on a directory that does not exist yet.
	opened := make([]*OutDir, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range opened {
		wg.Add(1)
		go func() { defer wg.Done(); opened[i], errs[i] = OpenShard(out, specFile, false, Shard{i, 4}) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d/4: %v", i, err)
		}
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(out, ShardLockFile(Shard{i, 4}))); err != nil {
			t.Errorf("shard %d's lock file: %v", i, err)
		}
	}
	if _, err := OpenShard(out, specFile, true, Shard{1, 4}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "shard 1/4") {
		t.Errorf("shard 1/4 twice: %v", err)
	}
	if _, err := OpenShard(out, specFile, true, Shard{0, 2}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "must agree on N") {
		t.Errorf("shard 0/2 beside shards of 4: %v", err)
	}
	for _, resume := range []bool{false, true} {
		if _, err := OpenOut(out, specFile, resume); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "shards of a run") {
			t.Errorf("whole run (resume %v) beside shards: %v", resume, err)
		}
	}

	// run.json: the first shard writes it, the others keep it.
	m1 := &results.Meta{Spec: "a", SpecSHA256: results.HashSpec([]byte("version: 1\nname: a\n")), Host: results.Host{Name: "node-1"}}
	m2 := *m1
	m2.Host.Name = "node-2"
	if wrote, err := WriteMetaOnce(out, m1); !wrote || err != nil {
		t.Fatalf("first WriteMetaOnce: %v %v", wrote, err)
	}
	if wrote, err := WriteMetaOnce(out, &m2); wrote || err != nil {
		t.Fatalf("second WriteMetaOnce: %v %v", wrote, err)
	}
	if m, err := results.ReadRunMeta(out); err != nil || m.Host.Name != "node-1" {
		t.Errorf("run.json: %+v %v, want node-1's", m, err)
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".run.json*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// A shard's finished cell is seen by the others on resume.
	writeFinishedCell(t, out, "m/asis/r1")
	opened[2].Close()
	o, err := OpenShard(out, specFile, true, Shard{2, 4})
	if err != nil || o.Done["m/asis/r1"] == nil {
		t.Fatalf("resume shard 2/4: %v, done %v", err, o)
	}
	o.Close()

	// A shard of another spec is refused.
	other := filepath.Join(tmp, "other.yaml")
	os.WriteFile(other, []byte("version: 1\nname: b\n"), 0o644)
	if _, err := OpenShard(out, other, false, Shard{2, 4}); err == nil || !strings.Contains(err.Error(), "spec changed") {
		t.Errorf("shard of another spec: %v", err)
	}

	for i, o := range opened {
		if i != 2 {
			o.Close()
		}
	}
	// With every shard gone, a whole resume takes the directory and sees the shard's cell.
	whole, err := OpenOut(out, specFile, true)
	if err != nil || whole.Done["m/asis/r1"] == nil {
		t.Fatalf("whole resume after the shards: %v", err)
	}
	if _, err := OpenShard(out, specFile, true, Shard{0, 4}); !errors.Is(err, ErrLocked) {
		t.Errorf("shard beside a whole resume: %v", err)
	}
	whole.Close()

	// An empty directory, and a directory that is not a run's.
	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	if o, err := OpenShard(empty, specFile, false, Shard{0, 2}); err != nil {
		t.Errorf("empty directory: %v", err)
	} else {
		o.Close()
	}
	junk := filepath.Join(tmp, "junk")
	os.Mkdir(junk, 0o755)
	os.WriteFile(filepath.Join(junk, "x"), nil, 0o644)
	if _, err := OpenShard(junk, specFile, false, Shard{0, 2}); !errors.Is(err, ErrNotRun) {
		t.Errorf("non-run directory: %v", err)
	}
}

// TestShardRefusedLeavesNoLockFile: a shard refused once it has taken its lock (beside shards
// of another N, or resuming with a spec not the run's) leaves no lock file of its own, and
// Discard removes only a lock file its open made.
func TestShardRefusedLeavesNoLockFile(t *testing.T) {
	tmp := t.TempDir()
	specFile := writeSpec(t, tmp, "version: 1\nname: a\n")
	out := filepath.Join(tmp, "run")
	running, err := OpenShard(out, specFile, false, Shard{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	lockFiles := func() []string {
		m, _ := filepath.Glob(filepath.Join(out, LockFile+".*"))
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		return m
	}
	if _, err := OpenShard(out, specFile, true, Shard{1, 3}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "must agree on N") {
		t.Fatalf("shard 1/3 beside shard 0/2: %v", err)
	}
	other := filepath.Join(tmp, "other.yaml")
	os.WriteFile(other, []byte("version: 1\nname: b\n"), 0o644)
	if _, err := OpenShard(out, other, true, Shard{1, 2}); err == nil || !strings.Contains(err.Error(), "spec changed") {
		t.Fatalf("shard 1/2 resuming with another spec: %v", err)
	}
	if got := lockFiles(); len(got) != 1 || got[0] != ShardLockFile(Shard{0, 2}) {
		t.Errorf("lock files after two refused shards: %v, want only the running shard's", got)
	}
	// Discarding an open whose lock file was there before keeps it; one that made it, not.
	running.Close()
	again, err := OpenShard(out, specFile, true, Shard{0, 2})
	if err != nil {
		t.Fatal(err)
	}
	again.Discard()
	made, err := OpenShard(out, specFile, true, Shard{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	made.Discard()
	if got := lockFiles(); len(got) != 1 || got[0] != ShardLockFile(Shard{0, 2}) {
		t.Errorf("lock files after discarding: %v, want shard 0/2's", got)
	}
}
