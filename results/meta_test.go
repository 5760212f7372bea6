package results

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
)

func TestParseCPUInfo(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD Ryzen 9 7950X3D 16-Core Processor\n\n" +
		"processor\t: 1\nmodel name\t: AMD Ryzen 9 7950X3D 16-Core Processor\n"
	arm := "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nprocessor\t: 1\nCPU part\t: 0xd0c\n"
	for _, tc := range []struct {
		in, model string
		n         int
	}{
		{x86, "AMD Ryzen 9 7950X3D 16-Core Processor", 2},
		{arm, "0xd0c", 2},
		{"", "unknown", 0},
	} {
		if model, n := parseCPUInfo([]byte(tc.in)); model != tc.model || n != tc.n {
			t.Errorf("parseCPUInfo = %q, %d; want %q, %d", model, n, tc.model, tc.n)
		}
	}
	if got := parseMemTotal([]byte("MemTotal:       24684096 kB\nMemFree: 1 kB\n")); got != 24684096*1024 {
		t.Errorf("parseMemTotal = %d", got)
	}
}

// requireTool skips when a tool is missing outside CI, and fails in CI.
func requireTool(t *testing.T, name string) bool {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return true
	}
	if testenv.InCI() {
		t.Errorf("CI=true but %s is not installed", name)
		return false
	}
	t.Logf("!!! SKIPPING the %s version check: %s is not installed !!!", name, name)
	return false
}

// probeTools asks every host tool of every method (default parameters) for its version, as
// the run's host probe does, in the form MetaOptions.Tools takes: NotFound when unusable.
func probeTools(t *testing.T) Tools {
	t.Helper()
	out := Tools{}
	qemu := method.FindTool(context.Background(), method.Tool{Name: "qemu", Paths: []string{"qemu-system-x86_64"}})
	out["qemu"] = qemu.Version
	if qemu.Err != nil {
		out["qemu"] = NotFound
	}
	for _, name := range method.Names() {
		m, err := method.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		p := method.Params{}
		for _, d := range m.Params() {
			p[d.Name] = d.Default
		}
		for _, tool := range m.Tools(p) {
			if _, ok := out[tool.Name]; ok {
				continue
			}
			h := method.FindTool(context.Background(), tool)
			out[tool.Name] = h.Version
			if h.Err != nil || h.Path == "" {
				out[tool.Name] = NotFound
			}
		}
	}
	return out
}

// TestCollectMeta collects the metadata of this machine for real: QEMU is asked here, the
// other tools come from the host probe (each installed tool must give a version line, an
// absent one "not found") and are recorded as given.
func TestCollectMeta(t *testing.T) {
	dir := t.TempDir()
	spec := "version: 1\nname: meta-test\n"
	writeFile(t, filepath.Join(dir, SpecFile), spec)
	probed := probeTools(t)
	before := time.Now().UTC()
	m, err := CollectMeta(context.Background(), MetaOptions{Dir: dir, Spec: "meta-test", SpecFile: filepath.Join(dir, SpecFile),
		Arch: "x86_64", Accel: "tcg", AccelReason: "asked for", GuestKernel: "6.1.0-26-amd64", Tools: probed})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collected: %+v", *m)
	if m.SpecSHA256 != HashSpec([]byte(spec)) || m.Spec != "meta-test" || m.Accel != "tcg" || m.GuestKernel != "6.1.0-26-amd64" {
		t.Errorf("meta %+v", m)
	}
	if m.Start.Before(before) || !m.End.IsZero() {
		t.Errorf("start %v (collected after %v), end %v", m.Start, before, m.End)
	}
	if m.Host.Cores < 1 || m.Host.MemoryBytes <= 0 || !strings.HasPrefix(m.Host.Kernel, "Linux ") || m.Host.CPU == "" {
		t.Errorf("host %+v", m.Host)
	}
	if m.Version == "" || !regexp.MustCompile(`^([0-9a-f]{40}(\+dirty)?|unknown)$`).MatchString(m.Commit) {
		t.Errorf("version %q commit %q", m.Version, m.Commit)
	}
	for name, v := range probed {
		if m.Tools[name] != v {
			t.Errorf("tool %s: recorded %q, the probe gave %q", name, m.Tools[name], v)
		}
	}
	if len(m.Tools) != len(probed) {
		t.Errorf("tools %v: want the probed ones", m.Tools)
	}
	for _, tc := range []struct {
		tool, key string
		re        string
	}{
		{"qemu-system-x86_64", "qemu", `^QEMU emulator version \d+\.\d+`},
		{"mksquashfs", "squashfs-tools", `^mksquashfs version \d+\.\d+`},
		{"mkfs.ext4", "e2fsprogs", `^mke2fs \d+\.\d+`},
		{"mkfs.erofs", "erofs-utils", `^mkfs\.erofs( \(erofs-utils\))? \d+\.\d+`},
	} {
		got, ok := m.Tools[tc.key]
		if !ok {
			t.Errorf("no version of %s (%s) in %v", tc.key, tc.tool, m.Tools)
			continue
		}
		if !requireTool(t, tc.tool) {
			if got != NotFound {
				t.Errorf("%s is not installed but its version is %q", tc.tool, got)
			}
			continue
		}
		if !regexp.MustCompile(tc.re).MatchString(got) {
			t.Errorf("%s version %q does not match %s", tc.tool, got, tc.re)
		}
	}
	if d := findVirtiofsd(); d != "" && !strings.Contains(m.Tools["virtiofsd"], "virtiofsd") {
		t.Errorf("virtiofsd %s: version %q", d, m.Tools["virtiofsd"])
	} else if d == "" && m.Tools["virtiofsd"] != NotFound {
		t.Errorf("no virtiofsd, but its version is %q", m.Tools["virtiofsd"])
	}
	// A tool the probe did not find stays "not found".
	m, err = CollectMeta(context.Background(), MetaOptions{Dir: dir, Tools: Tools{"qemu": NotFound, "virtiofsd": NotFound}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tools["qemu"] != NotFound || m.Tools["virtiofsd"] != NotFound || len(m.Tools) != 2 {
		t.Errorf("absent tools: %v, want qemu and virtiofsd not found", m.Tools)
	}
	if _, err := CollectMeta(context.Background(), MetaOptions{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "spec.yaml") {
		t.Errorf("no spec.yaml: %v", err)
	}
}

// findVirtiofsd is a virtiofsd on this host, "" if none: one on PATH or at the paths the
// Debian packages install.
func findVirtiofsd() string {
	for _, p := range []string{"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("virtiofsd"); err == nil {
		return p
	}
	return ""
}
