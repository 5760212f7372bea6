package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// script is a reader that answers each Read with the next of its results.
type script struct {
	steps []string // "" is an end-of-file
	reads int
}

func (s *script) Read(p []byte) (int, error) {
	s.reads++
	if len(s.steps) == 0 {
		return 0, io.EOF
	}
	next := s.steps[0]
	s.steps = s.steps[1:]
	if next == "" {
		return 0, io.EOF
	}
	return copy(p, next), nil
}

func TestAwaitHost(t *testing.T) {
	defer func(w, p time.Duration) { hostWait, hostPoll = w, p }(hostWait, hostPoll)
	hostWait, hostPoll = 300*time.Millisecond, time.Millisecond

	// Not connected three times, then the stream, then its end: all of it, once.
	s := &script{steps: []string{"", "", "", "abc", "def", "", "ghi"}}
	got, err := io.ReadAll(awaitHost(context.Background(), s, "data"))
	if string(got) != "abcdef" || err != nil {
		t.Errorf("read %q, %v; want \"abcdef\" and the end after the first end-of-file that follows data", got, err)
	}
	if s.reads != 6 {
		t.Errorf("%d reads, want 6", s.reads)
	}

	start := time.Now()
	_, err = io.ReadAll(awaitHost(context.Background(), &script{}, "data"))
	if err == nil || !strings.Contains(err.Error(), `port "data": the host did not connect within 300ms`) {
		t.Errorf("never connected: %v", err)
	}
	if d := time.Since(start); d < hostWait || d > 5*time.Second {
		t.Errorf("gave up after %v, want just over %v", d, hostWait)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := io.ReadAll(awaitHost(ctx, &script{}, "data")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
