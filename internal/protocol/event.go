package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmfsbench/vmfsbench/internal/treewalk"
)

// EventKind says what an Event reports; it is the "kind" field of an event line.
type EventKind string

// Event kinds, in the order a successful job sends them.
const (
	// EventReady: the agent has started, before it loads modules.
	EventReady EventKind = "ready"
	// EventModules: the modules are loaded. Result.Seconds is the total time, Msg a
	// summary and Data one "name<TAB>seconds<TAB>status" line per module.
	EventModules EventKind = "modules"
	// EventStepStart and EventStepEnd bracket every step and the workload; Step names it
	// (Step.Label, or "workload"). A step-end carries Result (at least Seconds; the files
	// received for receive-tar; the workload's result for the workload) and, if the step
	// failed, Error.
	EventStepStart EventKind = "step-start"
	EventStepEnd   EventKind = "step-end"
	// EventOutput is a chunk of the exec workload's Stream ("stdout" or "stderr") in Data,
	// sent as the command writes it. Chunks never split a UTF-8 character; bytes that are
	// not UTF-8 arrive as U+FFFD (JSON strings are UTF-8).
	EventOutput EventKind = "output"
	// EventResult carries the workload's Result. It is sent whenever the workload produced
	// one, also when an error follows (exec's non-zero exit status or timeout).
	EventResult EventKind = "result"
	// EventError reports a failure in Error. No "done" follows it.
	EventError EventKind = "error"
	// EventLog is a human-readable Msg.
	EventLog EventKind = "log"
	// EventDone is the last event of a job that succeeded. It is required: a channel that
	// ends without it means the job failed (the agent crashed, hung or the guest died),
	// never that it partly succeeded.
	EventDone EventKind = "done"
	// EventVerify carries the post-workload check (Job.Verify), sent before "done".
	EventVerify EventKind = "verify"
)

// Output streams of EventOutput.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// Event is one line the agent sends to the host on the control port.
type Event struct {
	// T is the guest's CLOCK_MONOTONIC in seconds when the event happened (not when it was
	// sent: events before the control port opens are held back and sent late).
	T    float64   `json:"t"`
	Kind EventKind `json:"kind"`
	// Step is the label of the step (Step.Label) or "workload".
	Step   string  `json:"step,omitempty"`
	Msg    string  `json:"msg,omitempty"`
	Stream string  `json:"stream,omitempty"`
	Data   string  `json:"data,omitempty"`
	Result *Result `json:"result,omitempty"`
	Error  string  `json:"error,omitempty"`
	// Verify is the post-workload check's finding (kind "verify").
	Verify *VerifyResult `json:"verify,omitempty"`
}

// Result is what a workload or step measured. Summary holds files, symlinks, bytes and (for
// read-all) the tree digest, computed with internal/treewalk as the host computes its own.
type Result struct {
	treewalk.Summary
	// Entries counts every entry stat-all visited, directories included.
	Entries int64 `json:"entries,omitempty"`
	// ExitCode is the exec workload's exit status (-1 if a signal ended it).
	ExitCode int `json:"exit_code"`
	// Signal is the number of the signal that ended the exec workload, 0 if it exited.
	Signal int `json:"signal,omitempty"`
	// Seconds is how long the workload or step took, measured in the guest. For read-all
	// it is the timed pass alone, which reads every byte and nothing else.
	Seconds float64 `json:"seconds"`
	// VerifySeconds is read-all's untimed digest pass, run right after the timed one: it
	// reads the tree again (from the guest's cache, or the DAX mapping) and computes the
	// digest the host checks.
	VerifySeconds float64 `json:"verify_seconds,omitempty"`
	// PageCacheKiB is the guest's page cache (Cached in /proc/meminfo) at the end of the
	// workload.
	PageCacheKiB int64 `json:"page_cache_kib,omitempty"`
	// PageFaults and MajorFaults count the guest's page faults over the workload (pgfault
	// and pgmajfault in /proc/vmstat; for read-all, the timed pass alone). A major fault
	// waited for I/O: a page read from a disk, which a DAX mapping never needs.
	PageFaults  int64 `json:"page_faults,omitempty"`
	MajorFaults int64 `json:"major_faults,omitempty"`
	// DAX counts the faults on the tree's DAX mapping over the workload, when the tree is
	// mounted with DAX and the guest kernel has the fs_dax trace events; nil otherwise.
	DAX *DAXFaults `json:"dax,omitempty"`
	// Mounts are the mounts the tree reached the workload through, as /proc/self/mountinfo
	// has them: "MOUNTPOINT FSTYPE SOURCE OPTIONS SUPEROPTIONS", the options those the guest
	// actually got.
	Mounts []string `json:"mounts,omitempty"`
	// Tests are the exec workload's per-test results from lit's JSON report
	// (Workload.LitReport), in the report's order.
	Tests []TestResult `json:"tests,omitempty"`
}

// TestResult is one test of a lit report: its full name ("LLVM :: Assembler/x.ll"), lit's
// result code (PASS, FAIL, UNSUPPORTED, XFAIL...) and its time as lit measured it.
type TestResult struct {
	Name    string  `json:"name"`
	Code    string  `json:"code"`
	Seconds float64 `json:"seconds"`
}

// DAXFaults are the guest's page faults on DAX mappings, from the kernel's fs_dax trace
// events (dax_pmd_fault_done, dax_pte_fault_done). A fault first tries a 2 MiB (PMD)
// mapping where the VMA allows one, and falls back to 4 KiB (PTE) pages when the file's
// blocks are not 2 MiB-aligned on the device, or the file or the mapping is too small.
type DAXFaults struct {
	PMD         int64 `json:"pmd"`          // faults that mapped 2 MiB at once
	PMDFallback int64 `json:"pmd_fallback"` // 2 MiB attempts that fell back to 4 KiB pages
	PTE         int64 `json:"pte"`          // 4 KiB faults
}

var knownKinds = map[EventKind]bool{
	EventReady: true, EventModules: true, EventVerify: true, EventStepStart: true, EventStepEnd: true,
	EventOutput: true, EventResult: true, EventError: true, EventLog: true, EventDone: true,
}

// Encoder writes events as JSON lines, one object per line. It is safe for concurrent use;
// every event goes out in a single Write.
type Encoder struct {
	mu sync.Mutex
	w  io.Writer
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Send writes ev as one line.
func (e *Encoder) Send(ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding %s event: %w", ev.Kind, err)
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("sending %s event: %w", ev.Kind, err)
	}
	return nil
}

// MaxLineSize bounds one event line; a longer line is an error, not an allocation.
const MaxLineSize = 16 << 20

// Decoder reads the events an Encoder wrote.
type Decoder struct {
	r    *bufio.Reader
	line int
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: bufio.NewReaderSize(r, 64<<10)} }

// Next returns the next event. It returns io.EOF at the end of a stream that ended cleanly
// after a complete line, and an error naming the line for anything that is not one valid
// event: bad JSON, unknown fields or kinds, a last line cut short. Blank lines are skipped.
func (d *Decoder) Next() (Event, error) {
	for {
		line, err := d.readLine()
		if len(line) == 0 && err != nil {
			return Event{}, err
		}
		d.line++
		if err == io.EOF {
			// The stream stopped mid-line: the writer died while sending.
			return Event{}, fmt.Errorf("event line %d: %w (%q)", d.line, io.ErrUnexpectedEOF, clip(line))
		}
		if err != nil {
			return Event{}, fmt.Errorf("event line %d: %w", d.line, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev Event
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			return Event{}, fmt.Errorf("event line %d: %w (%q)", d.line, err, clip(line))
		}
		if dec.More() {
			return Event{}, fmt.Errorf("event line %d: data after the event object (%q)", d.line, clip(line))
		}
		if !knownKinds[ev.Kind] {
			return Event{}, fmt.Errorf("event line %d: unknown event kind %q", d.line, ev.Kind)
		}
		return ev, nil
	}
}

// readLine returns one line without its newline. A final line without a newline comes
// with io.EOF.
func (d *Decoder) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLineSize {
			return buf[:0:0], fmt.Errorf("event line %d: longer than %d bytes", d.line+1, MaxLineSize)
		}
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return buf, err
		}
	}
}

func clip(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
