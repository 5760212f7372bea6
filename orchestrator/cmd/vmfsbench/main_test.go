package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = vmfsbench(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // a substring of stdout or stderr
	}{
		{"no args", nil, 2, "usage: vmfsbench"},
		{"help", []string{"help"}, 0, "usage: vmfsbench"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"validate good specs", []string{"validate", "../../../specs/demo.yaml", "../../../specs/seed-llvm-riscv64.yaml"}, 0,
			"seed-llvm-riscv64.yaml: ok (10 cells)"},
		{"validate missing file", []string{"validate", "nope.yaml"}, 2, "nope.yaml"},
		{"validate without args", []string{"validate"}, 2, "usage: vmfsbench validate"},
		{"plan bad flag", []string{"plan", "--yaml", "../../../specs/demo.yaml"}, 2, "flag provided but not defined"},
		{"kernel without fetch", []string{"kernel"}, 2, "usage: vmfsbench kernel fetch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.out) {
				t.Errorf("exit %d, want %d; output:\n%s%s", code, tc.code, out, errs)
			}
		})
	}
}

// TestThreeMistakes: a spec with three mistakes on different lines prints three
// file:line:col errors and exits 2.
func TestThreeMistakes(t *testing.T) {
	code, _, errs := runCLI(t, "validate", "../../spec/testdata/three-mistakes.yaml")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	re := regexp.MustCompile(`^\.\./\.\./spec/testdata/three-mistakes\.yaml:(\d+):(\d+): \S+: .+`)
	seen := map[string]bool{}
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not file:line:col: field: message", l)
		}
		seen[m[1]] = true
	}
	if len(lines) != 3 || len(seen) != 3 {
		t.Errorf("want 3 errors on 3 lines, got:\n%s", errs)
	}
}

func TestPlanJSONSeed(t *testing.T) {
	code, out, errs := runCLI(t, "plan", "../../../specs/seed-llvm-riscv64.yaml", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var p struct {
		Cells []struct {
			ID         string         `json:"id"`
			Method     string         `json:"method"`
			Params     map[string]any `json:"params"`
			Cache      string         `json:"cache"`
			Repetition int            `json:"repetition"`
			Steps      []struct {
				Kind     string     `json:"kind"`
				Commands [][]string `json:"commands"`
			} `json:"steps"`
		} `json:"cells"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Cells) != 10 {
		t.Fatalf("%d cells, want 10 (5 methods x 2 cache states)", len(p.Cells))
	}
	for _, c := range p.Cells {
		if c.ID == "" || c.Method == "" || c.Params == nil || c.Cache == "" || c.Repetition != 1 || len(c.Steps) < 4 {
			t.Errorf("incomplete cell %+v", c)
		}
		for _, s := range c.Steps {
			if s.Kind == "boot" && (len(s.Commands) != 1 || s.Commands[0][0] != "qemu-system-riscv64") {
				t.Errorf("%s: boot commands %v", c.ID, s.Commands)
			}
		}
	}
	if p.Cells[0].Params["msize"] != float64(512000) {
		t.Errorf("9p params = %v", p.Cells[0].Params)
	}
}

// TestDigest runs `vmfsbench digest` on a small hand-made tree with the seed's exclusions and
// checks the counts and the digest against lines built here by hand.
func TestDigest(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	files := map[string]string{
		"llvm/lib/a.cpp":                 "int a;\n",
		"llvm/lib/b.h":                   "#pragma once\n",
		"build/stage1/bin/clang":         "not in the digest",
		"build/stage2cross/bin/llvm-lit": "#!/usr/bin/env python3\n",
		".git/HEAD":                      "ref: refs/heads/main\n",
		"a.c":                            "main;",
	}
	for p, c := range files {
		must(t, os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755))
		must(t, os.WriteFile(filepath.Join(tree, p), []byte(c), 0o644))
	}
	must(t, os.Symlink("lib/a.cpp", filepath.Join(tree, "llvm/link")))
	specFile := filepath.Join(dir, "s.yaml")
	must(t, os.WriteFile(specFile, []byte(`version: 1
name: d
tree:
  path: tree
  exclude: [.git, "build/*", "!build/stage2cross"]
methods: [ext4: {}]
`), 0o644))
	code, out, errs := runCLI(t, "digest", specFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := digestOf([]string{
		fileLine("a.c", "main;"),
		fileLine("build/stage2cross/bin/llvm-lit", "#!/usr/bin/env python3\n"),
		fileLine("llvm/lib/a.cpp", "int a;\n"),
		fileLine("llvm/lib/b.h", "#pragma once\n"),
		"llvm/link\x00link\x00lib/a.cpp\n",
	})
	for _, s := range []string{"files     4\n", "symlinks  1\n", "bytes     48\n", "digest    " + want + "\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHelp: every command's --help (and -h, `help CMD` and `help CMD SUB`) prints its usage
// with each flag of its flag set to stdout and exits 0; the top-level help lists every
// command.
func TestHelp(t *testing.T) {
	code, top, errs := runCLI(t, "--help")
	if code != 0 || errs != "" {
		t.Fatalf("--help: exit %d, stderr %q", code, errs)
	}
	for _, c := range commands {
		var want []string
		flagSet(c).VisitAll(func(f *flag.Flag) {
			arg, _ := flag.UnquoteUsage(f)
			want = append(want, strings.TrimSpace(flagName(f)+" "+arg))
		})
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + `\s+\S`).MatchString(top) {
			t.Errorf("the top-level help has no line for %s:\n%s", c.name, top)
		}
		words := strings.Fields(c.name)
		for _, args := range [][]string{
			append(words, "--help"),
			append(words[:1:1], "--help"), // `rootfs --help` as well as `rootfs build --help`
			append(words, "-h"),
			append(words, "SPEC.yaml", "--help"),
			{"help", words[0]},
			append([]string{"help"}, words...), // `help kernel fetch`
		} {
			code, out, errs := runCLI(t, args...)
			if code != 0 || errs != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, errs)
				continue
			}
			if !strings.HasPrefix(out, "usage: vmfsbench "+c.name) || !strings.Contains(out, c.summary) {
				t.Errorf("%v: the usage is not %s's:\n%s", args, c.name, out)
			}
			for _, f := range want {
				if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f) + `\s+\S`).MatchString(out) {
					t.Errorf("%v does not describe %s:\n%s", args, f, out)
				}
			}
			if n := strings.Count(out, "\n  -"); n != len(want) {
				t.Errorf("%v lists %d flags, want %d:\n%s", args, n, len(want), out)
			}
		}
	}
	if _, out, _ := runCLI(t, "run", "--help"); !strings.HasPrefix(out, runUsage+"\n") {
		t.Errorf("runUsage %q is not the start of run's usage:\n%s", runUsage, out)
	}
}

// TestUsageErrors: a bad flag, a wrong number of arguments or two flags that exclude each other
// print the error and the command's usage to stderr and exit 2, before anything runs.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--keep-going", "--fail-fast", "../../../specs/demo.yaml"}, "--keep-going and --fail-fast exclude each other"},
		{[]string{"run", "../../../specs/demo.yaml", "--fail-fast", "--keep-going=false"}, "--keep-going and --fail-fast exclude each other"},
		{[]string{"run", "a.yaml", "b.yaml"}, "usage: vmfsbench run SPEC [flags]"},
		{[]string{"plan", "--yaml", "x.yaml"}, "flag provided but not defined: -yaml"},
		{[]string{"digest"}, "usage: vmfsbench digest SPEC"},
		{[]string{"kernel", "--arch", "x86_64"}, "usage: vmfsbench kernel fetch [flags]"},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "kernel", "frobnicate"}, `unknown command "kernel frobnicate"`},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q on stderr; stdout %q, stderr:\n%s", tc.args, code, tc.want, out, errs)
		}
	}
}

// TestKeepGoingFlag: --keep-going is the default and the opposite of --fail-fast.
func TestKeepGoingFlag(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		failFast bool
	}{
		{nil, false},
		{[]string{"--keep-going"}, false},
		{[]string{"--keep-going=false"}, true},
		{[]string{"--fail-fast"}, true},
	} {
		fs := newFlags("run", nil)
		failFast := failureFlags(fs)
		if _, err := parseArgs(fs, tc.args); err != nil || *failFast != tc.failFast {
			t.Errorf("%v: fail-fast %v, %v; want %v", tc.args, *failFast, err, tc.failFast)
		}
	}
}

// TestPlanRefusesDeviceQEMULacks: the QEMU binary's own device list decides whether a cell's
// devices are there. Debian 12's qemu-system-aarch64 (7.2) has no virtio-pmem-pci, so `plan`
// refuses the aarch64 pmem cell with the binary's version in the reason and keeps the blk one.
// No guest boots.
func TestPlanRefusesDeviceQEMULacks(t *testing.T) {
	bin := testenv.Tool(t, "qemu-system-aarch64")[0]
	version, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(version), "\n")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tree"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(file, []byte(`version: 1
name: pmem-aarch64
tree: {path: tree}
guest: {arch: aarch64, mountpoint: /mnt/tree}
qemu: {accel: tcg}
workload: {builtin: read-all}
cache: [asis]
methods:
  - erofs: {compression: none, device: [blk, pmem]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "plan", file, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var p struct {
		Cells []struct {
			ID      string `json:"id"`
			Refused string `json:"refused"`
		} `json:"cells"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	want := "qemu-system-aarch64 (" + strings.TrimSpace(first) + ") has no device virtio-pmem-pci"
	for _, c := range p.Cells {
		pmem := strings.Contains(c.ID, "device=pmem")
		if pmem && !strings.HasPrefix(c.Refused, want) || !pmem && c.Refused != "" {
			t.Errorf("cell %s refused %q; want a refusal starting %q for pmem alone", c.ID, c.Refused, want)
		}
	}
	if len(p.Cells) != 2 {
		t.Errorf("%d cells, want 2", len(p.Cells))
	}
	if code, out, _ := runCLI(t, "plan", file); code != 0 || !strings.Contains(out, "  REFUSED  "+want) {
		t.Errorf("the text plan (exit %d) does not show the refusal:\n%s", code, out)
	}
}
