// Package results holds what a run records: one Cell per matrix cell, written as JSON and as
// a CSV row, atomically, so a crash never leaves a half-written result.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
)

// Cell statuses.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
	// StatusError is a cell that failed because of the host, not the method: the results disk
	// full, a tool gone, a host process killed, the tree changed under it. Its figures say
	// nothing of the method, and --resume runs it again.
	StatusError = "error"
)

// Phase is a part of a cell whose host wall-clock time is recorded.
type Phase string

// The phases, in the order a cell goes through them.
const (
	PhasePrepareCache Phase = "prepare-cache"
	PhaseBuild        Phase = "build"
	PhaseStartDaemon  Phase = "start-daemon"
	PhaseBoot         Phase = "boot"
	PhaseTransfer     Phase = "transfer"
	PhaseMount        Phase = "mount"
	PhaseWorkload     Phase = "workload"
	// PhaseVerify is what follows the workload in the guest and is not measured: read-all's
	// digest pass and --verify's checks.
	PhaseVerify   Phase = "verify"
	PhaseTeardown Phase = "teardown"
)

// PhaseNames are the phases in the order a cell goes through them.
var PhaseNames = []Phase{PhasePrepareCache, PhaseBuild, PhaseStartDaemon, PhaseBoot, PhaseTransfer, PhaseMount, PhaseWorkload, PhaseVerify, PhaseTeardown}

// TotalPhases are the phases Total adds up, as the seed study counted them: building the
// image, transferring the tree and the workload; wall is everything.
var TotalPhases = []Phase{PhaseBuild, PhaseTransfer, PhaseWorkload}

// String is the phase's name.
func (p Phase) String() string { return string(p) }

// joinPhases joins phase names with sep.
func joinPhases(ps []Phase, sep string) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, sep)
}

// Command is a host command a cell ran, with the step that ran it.
type Command struct {
	Step string   `json:"step"`
	Argv []string `json:"argv"`
}

// Cell is the result of one cell.
type Cell struct {
	ID         string            `json:"id"`
	Group      string            `json:"group"`
	Method     string            `json:"method"`
	Params     map[string]any    `json:"params"`
	Cache      string            `json:"cache"`
	CacheCheck *CacheCheck       `json:"cache_check,omitempty"`
	Repetition int               `json:"repetition"`
	Status     string            `json:"status"`
	Error      string            `json:"error,omitempty"`
	Phases     map[Phase]float64 `json:"phases"` // seconds, host wall clock
	Total      float64           `json:"total"`  // build + transfer + workload, seconds
	Wall       float64           `json:"wall"`   // the whole cell, seconds
	Guest      GuestFigures      `json:"guest"`
	ExitCode   *int              `json:"exit_code,omitempty"`
	Digest     string            `json:"digest,omitempty"`
	DigestOK   *bool             `json:"digest_match,omitempty"`
	Accel      string            `json:"accel"`
	Warnings   []string          `json:"warnings,omitempty"`
	Facts      map[string]string `json:"facts,omitempty"`  // what the method chose on this host (ext4 route, virtiofsd flavour...)
	Scale      string            `json:"scale,omitempty"`  // the workload's scale (workload.scale), if the spec has scales
	Mounts     []string          `json:"mounts,omitempty"` // the tree's mounts in the guest, with the options it actually got
	Verify     *Verify           `json:"verify,omitempty"`
	Memory     *Memory           `json:"memory,omitempty"` // at the end of the workload
	CPU        *CPU              `json:"cpu,omitempty"`    // host CPU time of the cell's processes
	Lit        *Lit              `json:"lit,omitempty"`
	Commands   []Command         `json:"commands,omitempty"`  // every host command the cell ran, as run
	HostPort   int               `json:"host_port,omitempty"` // the loopback port of its port forward
	Host       *CellHost         `json:"host,omitempty"`      // the node it ran on
	// Tree is the fingerprint of the tree the cell was checked against (run.json's, or that
	// of an accepted change): the tree it measured.
	Tree  string    `json:"tree,omitempty"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// CellHost is the node a cell ran on, recorded in every cell: the shards of one run may run
// on different machines.
type CellHost struct {
	Node   string `json:"node"`   // the host name
	CPU    string `json:"cpu"`    // model name
	Kernel string `json:"kernel"` // uname -srm
	QEMU   string `json:"qemu"`   // QEMU's version line
	// Tools are the versions of the other host tools the run probed, by name.
	Tools Tools `json:"tools,omitempty"`
}

// HostOf is the CellHost of a run's metadata: the node the metadata was collected on.
func HostOf(m *Meta) *CellHost {
	if m == nil {
		return nil
	}
	h := &CellHost{Node: m.Host.Name, CPU: m.Host.CPU, Kernel: m.Host.Kernel, QEMU: m.Tools["qemu"]}
	for name, v := range m.Tools {
		if name == "qemu" {
			continue
		}
		if h.Tools == nil {
			h.Tools = Tools{}
		}
		h.Tools[name] = v
	}
	return h
}

// CacheCheck is what the host page cache looked like around cache preparation.
type CacheCheck struct {
	CachedBeforeKiB int64 `json:"cached_before_kib"`
	CachedAfterKiB  int64 `json:"cached_after_kib"`
	TreeKiB         int64 `json:"tree_kib"`
}

// Verify is what the guest found after the workload (run with verification on): the owners
// of the tree's entries by "uid:gid", whether a file could be written at the tree's root, and
// whether the read-only lower layer of an overlay refused a write.
type Verify struct {
	Owners          map[string]int64 `json:"owners"`
	WriteError      string           `json:"write_error,omitempty"`
	LowerChecked    bool             `json:"lower_checked"`
	LowerWriteError string           `json:"lower_write_error,omitempty"`
}

// Memory is what a cell holds in memory at the end of its workload: QEMU's resident set on
// the host (/proc/PID/status), with its peak and the parts that are mapped files (a pmem
// image the guest has read) and shared memory (guest RAM in a shared memfd), and the guest's
// page cache (Cached in its /proc/meminfo), in KiB.
type Memory struct {
	QEMURSSKiB        int64 `json:"qemu_rss_kib"`
	QEMUPeakKiB       int64 `json:"qemu_peak_kib"`
	QEMUFileKiB       int64 `json:"qemu_file_kib"`
	QEMUShmemKiB      int64 `json:"qemu_shmem_kib"`
	GuestPageCacheKiB int64 `json:"guest_page_cache_kib"`
}

// CPU is the host CPU time the cell's child processes used (QEMU, the daemon, the image
// builder, the transfer's tools): user and system seconds from the rusage of the children
// vmfsbench reaped during the cell, the cache preparation left out. Cells run one at a
// time, so the children of a cell are the cell's. QEMU and Build are the parts of QEMU
// (every boot attempt) and of the build step's commands.
type CPU struct {
	UserSeconds   float64 `json:"user_s"`
	SystemSeconds float64 `json:"system_s"`
	QEMUSeconds   float64 `json:"qemu_s"`
	BuildSeconds  float64 `json:"build_s"`
	// Source says how it was measured: "rusage".
	Source string `json:"source"`
}

// Seconds is user plus system time.
func (c *CPU) Seconds() float64 { return c.UserSeconds + c.SystemSeconds }

// Lit is lit's own summary of an exec workload that ran llvm-lit: counts per result code,
// its testing time, with --time-tests the slowest tests and, from lit's JSON report, every
// test's result.
type Lit struct {
	Passed  int            `json:"passed"`
	Counts  map[string]int `json:"counts"`
	Seconds float64        `json:"seconds"`
	Slowest []LitTest      `json:"slowest,omitempty"`
	// TestsFile names the file beside the cell's JSON that holds Tests (NAME.tests.csv:
	// test, code, seconds); "" when lit's report did not reach the host.
	TestsFile string `json:"tests_file,omitempty"`
	// Tests are every test lit ran, in its report's order. They are kept in TestsFile rather
	// than in the cell JSON (and summary.json): a whole check-llvm has 40,000.
	Tests []LitResult `json:"-"`
}

// LitResult is one test of lit's report: its full name, lit's result code (PASS, FAIL,
// UNSUPPORTED, XFAIL...) and its time.
type LitResult struct {
	Name    string
	Code    string
	Seconds float64
}

// LitTest is one test's time as lit measured it.
type LitTest struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// GuestFigures are what the agent measured with its own clock.
type GuestFigures struct {
	ModulesSeconds  float64 `json:"modules_seconds"`
	WorkloadSeconds float64 `json:"workload_seconds"`
	// VerifySeconds is read-all's untimed digest pass after the timed one.
	VerifySeconds float64 `json:"verify_seconds,omitempty"`
	Files         int64   `json:"files"`
	Symlinks      int64   `json:"symlinks"`
	Bytes         int64   `json:"bytes"`
	Entries       int64   `json:"entries,omitempty"`
	// PageFaults and MajorFaults are the guest's page faults over the workload (read-all:
	// its timed pass); a major one waited for I/O.
	PageFaults  int64 `json:"page_faults,omitempty"`
	MajorFaults int64 `json:"major_faults,omitempty"`
	// DAX counts the faults on the tree's DAX mapping by size, when the tree is mounted with
	// DAX and the guest kernel traces fs_dax events: whether 2 MiB data alignment took.
	DAX *DAXFaults `json:"dax_faults,omitempty"`
}

// DAXFaults are a cell's page faults on DAX mappings: 2 MiB (PMD) mappings made, 2 MiB
// attempts that fell back to 4 KiB pages, and 4 KiB (PTE) faults.
type DAXFaults struct {
	PMD         int64 `json:"pmd"`
	PMDFallback int64 `json:"pmd_fallback"`
	PTE         int64 `json:"pte"`
}

// Finish computes Total and marks the result ok when no error was recorded.
func (c *Cell) Finish(end time.Time) {
	c.End = end
	c.Wall = end.Sub(c.Start).Seconds()
	c.Total = 0
	for _, p := range TotalPhases {
		c.Total += c.Phases[p]
	}
	if c.Error == "" {
		c.Status = StatusOK
	} else {
		c.Status = StatusFailed
	}
}

// WriteJSON writes v as indented JSON to path atomically: a temporary file in the same
// directory, synced, then renamed over path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(data, '\n'))
}

// WriteFileAtomic writes data to path, mode 0644, so that readers and a crash see the old file
// or the whole new one (see package atomicfile). It makes path's directory first.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}
