package initramfs

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAgentPkg = "./guestinit/initramfs/testdata/agentmain"

var testAgentSources = []string{"guestinit/initramfs/testdata/agentmain"}

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
		if os.Getenv("CI") != "" {
			t.Fatalf("the go tool is required with CI set: %v", err)
		}
		t.Skipf("SKIPPING: go tool not found (%v)", err)
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
	// This test runs in guestinit/initramfs of the module.
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
	_, err = buildAgent(context.Background(), t.TempDir(), "amd64", root, "./guestinit/initramfs/testdata/nosuchpkg", testAgentSources)
	if err == nil || !strings.Contains(err.Error(), "nosuchpkg") {
		t.Errorf("building a missing package: error = %v", err)
	}
	_, err = buildAgent(context.Background(), t.TempDir(), "pdp11", root, testAgentPkg, testAgentSources)
	if err == nil || !strings.Contains(err.Error(), "pdp11") {
		t.Errorf("building for a bogus GOARCH: error = %v", err)
	}
}
