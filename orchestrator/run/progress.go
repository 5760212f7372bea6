package run

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Progress reports a run as it goes: cell i of N, its method and phase, elapsed time and an
// estimate of what is left. On a terminal one status line is redrawn in place and finished
// cells scroll above it; elsewhere (a log file, CI) every change is a plain line.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	start   time.Time
	i, n    int
	cell    string
	phase   string
	done    int
	elapsed time.Duration // wall time of finished cells, for the estimate
	status  bool          // a status line is on screen
	stop    chan struct{}
}

// NewProgress writes to w, redrawing in place when w is a terminal.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.tty = err == nil && os.Getenv("TERM") != "dumb"
	}
	if p.tty {
		p.stop = make(chan struct{})
		go p.tick()
	}
	return p
}

// Logf prints a line that stays.
func (p *Progress) Logf(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintf(p.w, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	p.draw()
}

// Cell marks the start of cell i (from 1) of n.
func (p *Progress) Cell(i, n int, id string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.i, p.n, p.cell, p.phase = i, n, id, ""
	p.mu.Unlock()
	if !p.tty {
		p.Logf("cell %d/%d %s%s", i, n, id, p.eta())
	}
}

// Phase marks the start of a phase of the current cell.
func (p *Progress) Phase(phase string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.phase = phase
	if p.tty {
		p.clear()
		p.draw()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.Logf("  %s", phase)
}

// CellDone records a finished cell and prints its outcome.
func (p *Progress) CellDone(wall time.Duration, outcome string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.done++
	p.elapsed += wall
	p.phase = ""
	p.mu.Unlock()
	p.Logf("cell %d/%d %s", p.i, p.n, outcome)
}

// tick redraws the status line every second so elapsed time moves.
func (p *Progress) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.clear()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// Close removes the status line and stops redrawing it.
func (p *Progress) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.cell = ""
	p.clear()
}

// eta estimates the time left from the mean wall time of the finished cells.
func (p *Progress) eta() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf(" (elapsed %s", time.Since(p.start).Round(time.Second))
	if p.done > 0 && p.n > p.done {
		left := p.elapsed / time.Duration(p.done) * time.Duration(p.n-p.done)
		s += ", about " + left.Round(time.Second).String() + " left"
	}
	return s + ")"
}

func (p *Progress) clear() {
	if p.tty && p.status {
		fmt.Fprint(p.w, "\r\033[K")
		p.status = false
	}
}

func (p *Progress) draw() {
	if !p.tty || p.cell == "" {
		return
	}
	elapsed := time.Since(p.start).Round(time.Second)
	line := fmt.Sprintf("[%d/%d] %s  %s  %s", p.i, p.n, p.cell, p.phase, elapsed)
	if p.done > 0 && p.n > p.done {
		left := p.elapsed / time.Duration(p.done) * time.Duration(p.n-p.done)
		line += "  ETA " + left.Round(time.Second).String()
	}
	fmt.Fprint(p.w, strings.TrimRight(line, " "))
	p.status = true
}
