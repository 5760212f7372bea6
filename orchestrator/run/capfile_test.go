package run

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestCapFile: under the cap a log is written as it came; over it, the first and the last
// half stay, cut at whole lines, with a note (a JSON line in events.jsonl) of how much went.
func TestCapFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines int
		json  bool
	}{{"under", 10, false}, {"over", 5000, false}, {"over, json", 5000, true}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c := newCapFile(f, "output.log", 4096, tc.json)
			var all strings.Builder
			for i := range tc.lines {
				l := fmt.Sprintf("{\"n\":%d}\n", i)
				all.WriteString(l)
				for _, part := range []string{l[:3], l[3:]} { // writes that split lines
					if _, err := c.Write([]byte(part)); err != nil {
						t.Fatal(err)
					}
				}
			}
			warning, err := c.finish()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(f.Name())
			got := string(b)
			if tc.lines == 10 {
				if got != all.String() || warning != "" {
					t.Errorf("under the cap: %q, warning %q", got, warning)
				}
				return
			}
			if len(got) > 4096+200 || !strings.HasSuffix(got, fmt.Sprintf("{\"n\":%d}\n", tc.lines-1)) || !strings.HasPrefix(got, "{\"n\":0}\n") {
				t.Errorf("over the cap: %d bytes:\n%s", len(got), got)
			}
			if !strings.Contains(warning, "output.log capped at 4KiB (workload.output_cap): ") {
				t.Errorf("warning %q", warning)
			}
			for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if tc.json && !json.Valid([]byte(l)) {
					t.Errorf("not a JSON line: %q", l)
				}
				if !tc.json && !strings.HasPrefix(l, "{\"n\":") && !strings.HasPrefix(l, "[vmfsbench: output.log capped at 4KiB") {
					t.Errorf("a cut line: %q", l)
				}
			}
		})
	}
}

// TestFaultGuestOutputCapped (issue 12, finding 13): a workload that prints megabytes keeps
// only workload.output_cap of them in output.log and events.jsonl each, its first and last
// lines, and the cell says so in its warnings.
func TestFaultGuestOutputCapped(t *testing.T) {
	needGuest(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fr := runFault(t, faultSpec("capped", "9p: {}", "tree: {path: "+root+"}\n"+
		`workload: {command: [/bin/busybox, sh, -c, "echo first; /bin/busybox yes | /bin/busybox head -c 3000000; echo; echo last"], output_cap: 64KiB, timeout: 5m}
`), faultOpts{})
	if len(fr.cells) != 1 {
		t.Fatalf("%d results", len(fr.cells))
	}
	c := fr.cells[0]
	if c.Status != results.StatusOK {
		t.Fatalf("cell failed: %s", c.Error)
	}
	logs := filepath.Join(fr.out, "logs", plan.FileName(c.ID))
	for _, name := range []string{OutputFile, EventsFile} {
		b, err := os.ReadFile(filepath.Join(logs, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 64<<10+512 || !strings.Contains(string(b), name+" capped at 64KiB (workload.output_cap): ") {
			t.Errorf("%s: %d bytes, want at most the 64 KiB cap and a note", name, len(b))
		}
		if name == OutputFile && (!strings.HasPrefix(string(b), "first\n") || !strings.HasSuffix(string(b), "last\n")) {
			t.Errorf("output.log lost its first or last line: %q ... %q", b[:min(len(b), 20)], b[max(0, len(b)-20):])
		}
	}
	if w := strings.Join(c.Warnings, "\n"); !strings.Contains(w, "output.log capped at 64KiB") || !strings.Contains(w, "events.jsonl capped at 64KiB") {
		t.Errorf("warnings do not note the cap:\n%s", w)
	}
}
