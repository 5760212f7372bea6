package results

import (
	"bytes"
	"encoding/csv"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func readCSV(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, col := range recs[0] {
			m[col] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// TestCellCSV flattens a cell and its run metadata into one row and reads it back.
func TestCellCSV(t *testing.T) {
	exit := 0
	match := true
	c := &Cell{ID: "squashfs.compression=none/empty/r2", Group: "squashfs.compression=none/empty", Method: "squashfs",
		Params: map[string]any{"compression": "none", "block_size": 131072.0}, Cache: "empty",
		CacheCheck: &CacheCheck{CachedBeforeKiB: 10, CachedAfterKiB: 9, TreeKiB: 100}, Repetition: 2, Status: StatusOK,
		Phases: map[Phase]float64{"prepare-cache": 3.5, "build": 17.25, "boot": 9, "workload": 676}, Total: 693.25, Wall: 706,
		Guest: GuestFigures{Files: 5, Bytes: 1 << 33}, ExitCode: &exit, DigestOK: &match, Accel: "kvm",
		Warnings: []string{"a, \"quoted\" warning", "another"},
		Start:    time.Date(2024, 10, 15, 9, 0, 0, 0, time.UTC), End: time.Date(2024, 10, 15, 9, 11, 46, 0, time.UTC)}
	m := &Meta{Spec: "seed", SpecSHA256: "ab", Host: Host{CPU: "AMD Ryzen 9 7950X3D", Cores: 32, MemoryBytes: 1 << 37},
		Tools: Tools{"qemu": "QEMU emulator version 9.1.0", "erofs-utils": NotFound, "virtiofsd /opt/v fs/virtiofsd": "virtiofsd 1.11.1"}, Start: time.Date(2024, 10, 15, 8, 59, 0, 0, time.UTC)}
	data, err := CellCSV(c, m)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, data)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	for col, want := range map[string]string{
		"id": c.ID, "param_block_size": "131072", "param_compression": "none", "phase_prepare_cache_s": "3.5",
		"phase_build_s": "17.25", "phase_transfer_s": "", "phase_workload_s": "676", "total_s": "693.25", "wall_s": "706",
		"exit_code": "0", "digest_match": "true", "cached_before_kib": "10", "guest_bytes": "8589934592",
		"warnings": "a, \"quoted\" warning; another", "start": "2024-10-15T09:00:00Z", "host_cpu": "AMD Ryzen 9 7950X3D",
		"host_cores": "32", "host_memory_bytes": "137438953472", "qemu_version": "QEMU emulator version 9.1.0",
		"erofs_utils_version": "not found", "run_start": "2024-10-15T08:59:00Z", "run_end": "", "spec_sha256": "ab",
		"virtiofsd__opt_v_fs_virtiofsd_version": "virtiofsd 1.11.1",
	} {
		got, ok := r[col]
		if !ok {
			t.Errorf("no column %s", col)
		} else if got != want {
			t.Errorf("%s = %q, want %q", col, got, want)
		}
	}
	// The tool columns come last, sorted by tool name, after the other meta columns.
	header, err := csv.NewReader(bytes.NewReader(data)).Read()
	if err != nil {
		t.Fatal(err)
	}
	wantTail := []string{"run_start", "run_end", "erofs_utils_version", "qemu_version", "virtiofsd__opt_v_fs_virtiofsd_version"}
	if len(header) < len(wantTail) || !slices.Equal(header[len(header)-len(wantTail):], wantTail) {
		t.Errorf("header ends %q, want %q", header[max(0, len(header)-len(wantTail)):], wantTail)
	}
	// Without metadata the columns are still there, empty.
	data, err = CellCSV(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := readCSV(t, data)[0]; r["host_cpu"] != "" || r["id"] != c.ID {
		t.Errorf("without metadata: host_cpu %q, id %q", r["host_cpu"], r["id"])
	}
}

// TestSummaryCSV: one row per cell, then one per group and metric; group rows carry the
// statistics of summary.json.
func TestSummaryCSV(t *testing.T) {
	run, err := ReadRun(filepath.Join("testdata", "runs", "seed-a"))
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(run.Cells, run.Meta)
	data, err := SummaryCSV(s)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, data)
	cells, groups := 0, 0
	for _, r := range rows {
		switch r["kind"] {
		case "cell":
			cells++
		case "group":
			groups++
			if r["group"] == "ext4/warm" && r["metric"] == "total" {
				g := s.Groups[9]
				if g.Group != "ext4/warm" {
					t.Fatalf("group 9 is %s", g.Group)
				}
				if r["median_s"] != formatFloat(g.Total.Median) || r["n"] != "3" || r["outliers_s"] != formatFloat(g.Total.Outliers[0]) {
					t.Errorf("ext4/warm total row %v, group %+v", r, g.Total)
				}
			}
		default:
			t.Errorf("row of kind %q", r["kind"])
		}
		if r["spec"] != "seed-llvm-riscv64" {
			t.Errorf("row without the run metadata: %v", r)
		}
	}
	// Metrics per group: total, wall and each phase present (9p: prepare-cache, boot,
	// mount, workload, teardown = 7 rows; virtiofs adds start-daemon; squashfs and ext4 add
	// build; ssh-tar has transfer and no mount).
	want := 2*7 + 2*7 + 2*8 + 2*8 + 2*8 + 2*7
	if cells != 36 || groups != want {
		t.Errorf("%d cell rows and %d group rows, want 36 and %d", cells, groups, want)
	}
}
