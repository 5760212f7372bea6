package initramfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

const testAgentPkg = "./orchestrator/initramfs/testdata/agentmain"

var testAgentSources = []string{"orchestrator/initramfs/testdata/agentmain"}

var (
	agentCache string // shared by the tests of one run, removed by TestMain
	agentMu    sync.Mutex
	agents     = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if agentCache != "" {
		os.RemoveAll(agentCache)
	}
	os.Exit(code)
}

func needGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go tool is not on PATH: %v", err)
	}
}

// testAgent builds testdata/agentmain for goarch once per test run.
func testAgent(t *testing.T, goarch string) string {
	t.Helper()
	needGo(t)
	agentMu.Lock()
	defer agentMu.Unlock()
	if p, ok := agents[goarch]; ok {
		return p
	}
	if agentCache == "" {
		d, err := os.MkdirTemp("", "initramfs-agent-")
		if err != nil {
			t.Fatal(err)
		}
		agentCache = d
	}
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := buildAgent(context.Background(), agentCache, goarch, root, testAgentPkg, testAgentSources)
	if err != nil {
		t.Fatal(err)
	}
	agents[goarch] = p
	return p
}

func TestModuleRoot(t *testing.T) {
	needGo(t)
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// This test runs in orchestrator/initramfs of the module.
	wd, _ := os.Getwd()
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("moduleRoot() = %s, want %s", root, want)
	}
}

func TestBuildAgent(t *testing.T) {
	needGo(t)
	tests := []struct {
		goarch  string
		machine elf.Machine
	}{
		{"amd64", elf.EM_X86_64},
		{"arm64", elf.EM_AARCH64},
	}
	for _, tt := range tests {
		t.Run(tt.goarch, func(t *testing.T) {
			p := testAgent(t, tt.goarch)
			if !strings.HasPrefix(filepath.Base(filepath.Dir(p)), tt.goarch+"-") || filepath.Base(p) != "init" {
				t.Errorf("agent path %s is not agent/%s-<hash>/init", p, tt.goarch)
			}
			m, err := staticELF(p)
			if err != nil {
				t.Fatal(err)
			}
			if m != tt.machine {
				t.Errorf("agent machine = %v, want %v", m, tt.machine)
			}
			// Built again into another cache: the same bytes (-trimpath, no build id).
			root, err := moduleRoot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			other := t.TempDir()
			p2, err := buildAgent(context.Background(), other, tt.goarch, root, testAgentPkg, testAgentSources)
			if err != nil {
				t.Fatal(err)
			}
			if rel, _ := filepath.Rel(other, p2); rel != mustRel(t, agentCache, p) {
				t.Errorf("same sources gave cache paths %s and %s", p, p2)
			}
			b1, _ := os.ReadFile(p)
			b2, _ := os.ReadFile(p2)
			if !bytes.Equal(b1, b2) {
				t.Errorf("two builds of the same source differ (%d and %d bytes)", len(b1), len(b2))
			}
		})
	}
}

func mustRel(t *testing.T, base, p string) string {
	t.Helper()
	r, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBuildAgentRebuildsOnEdit builds a throwaway module: unchanged sources reuse the binary,
// an edited source file gives a new one, a test file or a file outside the sources does not.
func TestBuildAgentRebuildsOnEdit(t *testing.T) {
	needGo(t)
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/agenttest\n\ngo 1.22\n")
	write("agent/main.go", "package main\n\nimport \"example.com/agenttest/lib\"\n\nfunc main() { println(lib.Msg) }\n")
	write("lib/lib.go", "package lib\n\nconst Msg = \"one\"\n")
	cache := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := func() string {
		t.Helper()
		p, err := buildAgent(ctx, cache, "amd64", root, "./agent", []string{"agent", "lib"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := build()
	fi1, _ := os.Stat(p1)
	if p := build(); p != p1 {
		t.Errorf("unchanged sources: %s, then %s", p1, p)
	}
	if fi, _ := os.Stat(p1); !os.SameFile(fi, fi1) || !fi.ModTime().Equal(fi1.ModTime()) {
		t.Error("unchanged sources rebuilt the binary")
	}
	write("lib/lib_test.go", "package lib\n")
	write("lib/testdata/x.go", "package x\n")
	write("README.md", "not a source\n")
	if p := build(); p != p1 {
		t.Errorf("a test file, testdata or a non-Go file changed the agent path: %s, then %s", p1, p)
	}
	write("lib/lib.go", "package lib\n\nconst Msg = \"two\"\n")
	p2 := build()
	if p2 == p1 {
		t.Fatal("editing a source file kept the cached agent")
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if bytes.Equal(b1, b2) {
		t.Error("the edit did not change the binary")
	}
	ents, _ := os.ReadDir(filepath.Join(cache, "agent"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left a temporary %s behind", e.Name())
		}
	}
}

func TestBuildAgentErrors(t *testing.T) {
	needGo(t)
	root, err := moduleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = buildAgent(context.Background(), t.TempDir(), "amd64", root, "./orchestrator/initramfs/testdata/nosuchpkg", testAgentSources)
	if err == nil || !strings.Contains(err.Error(), "nosuchpkg") {
		t.Errorf("building a missing package: error = %v", err)
	}
	_, err = buildAgent(context.Background(), t.TempDir(), "pdp11", root, testAgentPkg, testAgentSources)
	if err == nil || !strings.Contains(err.Error(), "pdp11") {
		t.Errorf("building for a bogus GOARCH: error = %v", err)
	}
}

// TestBuildAgentEmbedded: with an agent embedded for the GOARCH (as `make build` does), BuildAgent
// writes it once into the cache under its sha256 and returns it, without the source or Go;
// without one for the GOARCH it builds from source; a mislabelled one is refused.
func TestBuildAgentEmbedded(t *testing.T) {
	amd64, err := os.ReadFile(testAgent(t, "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	old := embeddedAgents
	t.Cleanup(func() { embeddedAgents = old })
	embeddedAgents = fstest.MapFS{
		"agent-amd64": {Data: amd64, Mode: 0o755},
		"agent-arm64": {Data: amd64, Mode: 0o755}, // an amd64 binary under arm64's name
	}
	cache := t.TempDir()
	t.Setenv("PATH", t.TempDir()) // no go: the source build would fail
	p, err := BuildAgent(context.Background(), cache, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(amd64)
	if want := filepath.Join(cache, "agent", "amd64-embedded-"+hex.EncodeToString(sum[:])[:16], "init"); p != want {
		t.Errorf("embedded agent at %s, want %s", p, want)
	}
	fi1, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi1.Mode().Perm()&0o111 == 0 {
		t.Errorf("agent mode %v is not executable", fi1.Mode())
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, amd64) {
		t.Error("the cached agent differs from the embedded one")
	}
	if p2, err := BuildAgent(context.Background(), cache, "amd64"); err != nil || p2 != p {
		t.Errorf("second call: %s, %v; want %s", p2, err, p)
	}
	if fi, _ := os.Stat(p); !os.SameFile(fi, fi1) || !fi.ModTime().Equal(fi1.ModTime()) {
		t.Error("the second call wrote the agent again")
	}
	if _, err := BuildAgent(context.Background(), cache, "arm64"); err == nil || !strings.Contains(err.Error(), "not "+elf.EM_AARCH64.String()) {
		t.Errorf("an amd64 binary embedded for arm64: error = %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(cache, "agent"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left a temporary %s behind", e.Name())
		}
	}
	// No agent embedded for riscv64 and no go on PATH: the fallback's error names `make build`.
	if _, err := BuildAgent(context.Background(), cache, "riscv64"); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("riscv64 without an embedded agent or Go: error = %v", err)
	}
}

// TestMakefileAgentFlags: `make agents` builds the embedded agents with agentBuildFlags, so an
// embedded agent is the binary the source build would give.
func TestMakefileAgentFlags(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range agentBuildFlags {
		if v, ok := strings.CutPrefix(f, "-ldflags="); ok {
			f = "-ldflags='" + v + "'"
		}
		want = append(want, f)
	}
	if !strings.Contains(string(b), strings.Join(want, " ")) {
		t.Errorf("the Makefile's agents target does not build with %s (agentBuildFlags)", strings.Join(want, " "))
	}
}
