package run

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/vmfsbench/vmfsbench/orchestrator/param"
)

// capFile is a log of the guest's output capped at max bytes (workload.output_cap): the first
// half is written as it comes, the last half is kept in memory and written at finish, after
// a line that says how much was cut between them. Both halves are cut at line boundaries, so
// events.jsonl stays a file of JSON lines (its note is one too).
type capFile struct {
	mu      sync.Mutex
	f       *os.File
	name    string
	max     int64
	head    int64 // bytes written to f
	headEnd int64 // the end of head's last whole line
	tail    []byte
	cut     int64 // bytes neither in head nor in tail
	done    bool
	json    bool // the note is a JSON line
}

func newCapFile(f *os.File, name string, max int64, json bool) *capFile {
	if max <= 0 {
		max = 1 << 62 // no cap
	}
	return &capFile{f: f, name: name, max: max, json: json}
}

// Write implements io.Writer; it never fails for lack of room.
func (c *capFile) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.done {
		c.cut += int64(n)
		return n, nil
	}
	if room := c.max/2 - c.head; room > 0 && len(c.tail) == 0 && c.cut == 0 {
		k := min(int64(len(p)), room)
		w, err := c.f.Write(p[:k])
		if i := bytes.LastIndexByte(p[:w], '\n'); i >= 0 {
			c.headEnd = c.head + int64(i) + 1
		}
		c.head += int64(w)
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	if len(p) > 0 {
		c.tail = append(c.tail, p...)
		if over := int64(len(c.tail)) - c.max/2; over > 0 {
			c.cut += over
			c.tail = c.tail[over:]
		}
	}
	return n, nil
}

// finish writes what the file keeps of the rest and returns a warning for the cell when
// output was cut, "" otherwise. Later writes are dropped.
func (c *capFile) finish() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return "", nil
	}
	c.done = true
	if c.cut == 0 {
		_, err := c.f.Write(c.tail)
		return "", err
	}
	// Whole lines only: the head's unfinished last line and the tail's first one go.
	cut := c.cut + (c.head - c.headEnd)
	if err := c.f.Truncate(c.headEnd); err != nil {
		return "", err
	}
	if _, err := c.f.Seek(c.headEnd, 0); err != nil {
		return "", err
	}
	tail := c.tail
	if i := bytes.IndexByte(tail, '\n'); i >= 0 {
		cut += int64(i) + 1
		tail = tail[i+1:]
	}
	what := fmt.Sprintf("vmfsbench: %s capped at %s (workload.output_cap): %d bytes of the guest's output cut here",
		c.name, param.FormatSize(c.max), cut)
	note := "[" + what + "]\n"
	if c.json {
		note = fmt.Sprintf("{\"kind\":\"note\",\"data\":%q}\n", what)
	}
	if _, err := c.f.WriteString(note); err != nil {
		return "", err
	}
	_, err := c.f.Write(tail)
	return fmt.Sprintf("%s capped at %s (workload.output_cap): %d bytes of the guest's output were cut from its middle",
		c.name, param.FormatSize(c.max), cut), err
}
