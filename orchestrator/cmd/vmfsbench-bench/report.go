package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// figure is one row of the report.
type figure struct {
	name  string
	ours  string // vmfsbench's figure, with its unit
	ref   string // the reference's
	ratio string // formatted; "" when there is none
	goal  string // "" when the issue sets none
	met   verdict
	note  string // why a goal is missed, or how to read the row; printed under the table
}

// verdict is the met? column.
type verdict int

const (
	noGoal verdict = iota
	met
	missed
)

func (v verdict) String() string {
	switch v {
	case met:
		return "yes"
	case missed:
		return "**no**"
	}
	return "-"
}

func verdictOf(ok bool) verdict {
	if ok {
		return met
	}
	return missed
}

// Goals of the issue, and how each is checked.
const (
	goalAtMost1  = "<= 1.00"
	goalAtLeast1 = ">= 1.00"
	goalFlat     = "<= 1.10 (flat)"
	goalOverhead = "< 1 % or < 0.5 s"
	flatLimit    = 1.10
)

// writeReport prints the machine, the table and the notes.
func writeReport(w io.Writer, m machine, figs []figure, took time.Duration) {
	fmt.Fprintf(w, "\n## vmfsbench-bench, %s\n\n", m.date)
	fmt.Fprintf(w, "machine: %s\n\n", m.String())
	writeTable(w, figs)
	n := 0
	for _, f := range figs {
		if f.note == "" {
			continue
		}
		if n == 0 {
			fmt.Fprintln(w)
		}
		n++
		fmt.Fprintf(w, "%d. %s: %s\n", n, f.name, f.note)
	}
	misses, goals := 0, 0
	for _, f := range figs {
		if f.met != noGoal {
			goals++
		}
		if f.met == missed {
			misses++
		}
	}
	fmt.Fprintf(w, "\n%d figures, %d of %d goals missed; measured in %s.\n", len(figs), misses, goals, took.Round(time.Second))
}

// writeTable prints the figures as a Markdown table with aligned columns; a row with a note
// gets its note's number after its name.
func writeTable(w io.Writer, figs []figure) {
	rows := [][]string{{"figure", "vmfsbench", "reference", "ratio", "goal", "met?"}}
	n := 0
	for _, f := range figs {
		name := f.name
		if f.note != "" {
			n++
			name = fmt.Sprintf("%s [%d]", name, n)
		}
		rows = append(rows, []string{name, dash(f.ours), dash(f.ref), dash(f.ratio), dash(f.goal), f.met.String()})
	}
	for _, r := range rows {
		for i, c := range r {
			r[i] = strings.ReplaceAll(c, "|", `\|`) // a bare | would end the cell, even in a code span
		}
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range r {
			fmt.Fprintf(&b, " %-*s |", width[i], c)
		}
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, r := range rows[1:] {
		line(r)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// machine describes where the figures were measured.
type machine struct {
	date, cpu, os, kernel string
	cores                 int
	memGiB                float64
	tools                 []string // "name version"
	load                  string   // load average at the start
}

func (m machine) String() string {
	s := fmt.Sprintf("%d cores (%s), %.0f GiB RAM, %s, Linux %s", m.cores, m.cpu, m.memGiB, m.os, m.kernel)
	if len(m.tools) > 0 {
		s += "; " + strings.Join(m.tools, ", ")
	}
	if m.load != "" {
		s += "; load average at the start " + m.load
	}
	return s
}

// describeMachine reads the CPU, OS, kernel and tool versions.
func describeMachine(ctx context.Context) machine {
	m := machine{date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), cores: runtime.NumCPU()}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.cpu = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		var kib float64
		fmt.Sscanf(v, "%f", &kib)
		m.memGiB = kib / (1 << 20)
	}
	m.os = osRelease()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}
	for _, t := range []struct{ name, cmd, arg string }{
		{"QEMU", "qemu-system-x86_64", "--version"},
		{"GNU tar", "tar", "--version"},
		{"squashfs-tools", "mksquashfs", "-version"},
		{"erofs-utils", "mkfs.erofs", "--help"},
		{"e2fsprogs", "mkfs.ext4", "-V"},
		{"Go", "go", "version"},
	} {
		if v := toolVersion(ctx, t.cmd, t.arg); v != "" {
			m.tools = append(m.tools, t.name+" "+v)
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// toolVersion returns the first version-looking word of what a tool prints about itself.
func toolVersion(ctx context.Context, cmd, arg string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, cmd, arg).CombinedOutput()
	return versionWord(string(out))
}

// versionWord finds the first word that starts with a digit and holds a dot, such as
// "7.2.22" in "QEMU emulator version 7.2.22 (Debian ...)", or a Go version "go1.26.8".
func versionWord(s string) string {
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, "(),:;")
		if v, ok := strings.CutPrefix(w, "go"); ok && strings.Contains(v, ".") && v != "" && v[0] >= '0' && v[0] <= '9' {
			return v
		}
		if w != "" && w[0] >= '0' && w[0] <= '9' && strings.Contains(w, ".") {
			return w
		}
	}
	return ""
}

// median returns the median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Formatting of values.
func secs(s float64) string {
	switch {
	case s < 0.01:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

func mbps(bytes int64, s float64) string { return fmt.Sprintf("%.1f MB/s", float64(bytes)/s/1e6) }

func ratio(x float64) string { return fmt.Sprintf("%.2f", x) }

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
