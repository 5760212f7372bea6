package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/treewalk"
)

func TestRoundTrip(t *testing.T) {
	events := []Event{
		{T: 1.25, Kind: EventReady, Msg: "agent 1"},
		{T: 1.5, Kind: EventModules, Msg: "loaded 2 modules", Data: "a.ko\t0.1\tok\nb.ko\t0.2\texists\n", Result: &Result{Seconds: 0.3}},
		{T: 2, Kind: EventStepStart, Step: "1:mount", Msg: "mount 9p tree on /mnt"},
		{T: 2.5, Kind: EventStepEnd, Step: "1:mount", Result: &Result{Seconds: 0.5}},
		{T: 3, Kind: EventOutput, Step: "workload", Stream: StreamStdout, Data: "héllo\x00\n\"quoted\"\t"},
		{T: 3.1, Kind: EventOutput, Step: "workload", Stream: StreamStderr, Data: "err\n"},
		{T: 4, Kind: EventResult, Step: "workload", Result: &Result{
			Summary: treewalk.Summary{Files: 3, Symlinks: 1, Bytes: 4096, Digest: strings.Repeat("ab", 32)},
			Entries: 7, ExitCode: 3, Seconds: 0.75,
		}},
		{T: 4.5, Kind: EventError, Step: "workload", Error: "workload exited with status 3"},
		{T: 4.6, Kind: EventLog, Msg: "syncing"},
		{T: 5, Kind: EventDone},
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, ev := range events {
		if err := enc.Send(ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "\n"); n != len(events) {
		t.Errorf("%d lines for %d events:\n%s", n, len(events), buf.String())
	}
	dec := NewDecoder(&buf)
	for i, want := range events {
		got, err := dec.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if _, err := dec.Next(); err != io.EOF {
		t.Errorf("after the last event: %v, want io.EOF", err)
	}
}

func TestWireFormat(t *testing.T) {
	var buf bytes.Buffer
	ev := Event{T: 1.5, Kind: EventResult, Step: "workload", Result: &Result{
		Summary: treewalk.Summary{Files: 2, Bytes: 10, Digest: "d"}, Seconds: 2}}
	if err := NewEncoder(&buf).Send(ev); err != nil {
		t.Fatal(err)
	}
	want := `{"t":1.5,"kind":"result","step":"workload","result":{"files":2,"symlinks":0,"bytes":10,"digest":"d","exit_code":0,"seconds":2}}` + "\n"
	if buf.String() != want {
		t.Errorf("wire format:\n got %s\nwant %s", buf.String(), want)
	}
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		name, input string
		good        int // events decoded before the error
		err         string
	}{
		{"garbled", `{"t":1,"kind":"ready"}` + "\n" + `{"t":2,"kind":"log"}` + "\n" + "\x1b[0mKernel panic - not syncing\n",
			2, `event line 3: invalid character`},
		{"garbled after blank lines", "\n\n" + `{"t":1,"kind":"ready"}` + "\n\n{\"t\":\n", 1, `event line 5: unexpected EOF`},
		{"unknown kind", `{"t":1,"kind":"finished"}` + "\n", 0, `event line 1: unknown event kind "finished"`},
		{"missing kind", `{"t":1}` + "\n", 0, `event line 1: unknown event kind ""`},
		{"unknown field", `{"t":1,"kind":"done","extra":true}` + "\n", 0, `event line 1: json: unknown field "extra"`},
		{"two objects", `{"t":1,"kind":"done"} {"t":2,"kind":"done"}` + "\n", 0, `event line 1: data after the event object`},
		{"truncated last line", `{"t":1,"kind":"ready"}` + "\n" + `{"t":2,"ki`, 1, `event line 2: unexpected EOF ("{\"t\":2,\"ki")`},
		{"wrong type", `{"t":"soon","kind":"ready"}` + "\n", 0, `event line 1: json: cannot unmarshal string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := NewDecoder(strings.NewReader(tt.input))
			for i := 0; i < tt.good; i++ {
				if _, err := dec.Next(); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			_, err := dec.Next()
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
			if err == io.EOF {
				t.Fatal("a bad stream must not end with a clean io.EOF")
			}
		})
	}
}

func TestTruncatedIsUnexpectedEOF(t *testing.T) {
	_, err := NewDecoder(strings.NewReader(`{"t":1,"kind":"do`)).Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestLongLine(t *testing.T) {
	// Lines longer than the decoder's buffer must come through whole.
	var buf bytes.Buffer
	data := strings.Repeat("x", 300<<10)
	if err := NewEncoder(&buf).Send(Event{Kind: EventOutput, Stream: StreamStdout, Data: data}); err != nil {
		t.Fatal(err)
	}
	ev, err := NewDecoder(&buf).Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Data != data {
		t.Errorf("got %d bytes of data, want %d", len(ev.Data), len(data))
	}
}

func TestTooLongLine(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"t":1,"kind":"log","msg":"`), strings.NewReader(strings.Repeat("y", MaxLineSize+1)))
	_, err := NewDecoder(r).Next()
	if err == nil || !strings.Contains(err.Error(), "event line 1: longer than") {
		t.Errorf("error %v, want a line length error", err)
	}
}

// lineWriter fails the test when a Write does not hold exactly one whole line, which is
// what happens when concurrent Sends interleave.
type lineWriter struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '\n') != len(p)-1 {
		w.t.Errorf("write is not one line: %q", p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestConcurrentSend(t *testing.T) {
	w := &lineWriter{t: t}
	enc := NewEncoder(w)
	const senders, each = 8, 200
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := enc.Send(Event{T: float64(i), Kind: EventOutput, Stream: fmt.Sprint(s), Data: strings.Repeat("z", i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	dec := NewDecoder(&w.buf)
	next := make([]int, senders) // per sender, events must stay in order
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var s int
		fmt.Sscan(ev.Stream, &s)
		if int(ev.T) != next[s] || len(ev.Data) != next[s] {
			t.Fatalf("sender %d: got event %v with %d bytes, want %d", s, ev.T, len(ev.Data), next[s])
		}
		next[s]++
	}
	for s, n := range next {
		if n != each {
			t.Errorf("sender %d: %d events, want %d", s, n, each)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("port closed") }

func TestSendError(t *testing.T) {
	err := NewEncoder(failWriter{}).Send(Event{Kind: EventDone})
	if err == nil || err.Error() != "sending done event: port closed" {
		t.Errorf("error %v", err)
	}
}
