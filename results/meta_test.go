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

func TestPickVersion(t *testing.T) {
	for in, want := range map[string]string{
		"QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022": "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)",
		"<E> erofs: missing argument: FILE\nmkfs.erofs 1.5\n":                                     "mkfs.erofs 1.5",
		"usage: [options] FILE DIRECTORY\n":                                                       "unknown: usage: [options] FILE DIRECTORY",
		"":                                                                                        "unknown",
	} {
		if got := pickVersion(in); got != want {
			t.Errorf("pickVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// requireTool skips when a tool is missing outside CI, and fails in CI.
func requireTool(t *testing.T, name string) bool {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return true
	}
	if os.Getenv("CI") != "" {
		t.Errorf("%s is not installed (CI is set, so this fails)", name)
		return false
	}
	t.Logf("SKIPPING the %s version check: %s is not installed", name, name)
	return false
}

// TestCollectMeta collects the metadata of this machine for real: each installed tool must
// give a version line, an absent one "not found".
func TestCollectMeta(t *testing.T) {
	dir := t.TempDir()
	spec := "version: 1\nname: meta-test\n"
	writeFile(t, filepath.Join(dir, SpecFile), spec)
	before := time.Now().UTC()
	m, err := CollectMeta(context.Background(), MetaOptions{Dir: dir, Spec: "meta-test", SpecFile: filepath.Join(dir, SpecFile),
		Arch: "x86_64", Accel: "tcg", AccelReason: "asked for", GuestKernel: "6.1.0-26-amd64"})
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
	for _, tc := range []struct {
		tool, got string
		re        string
	}{
		{"qemu-system-x86_64", m.Tools.QEMU, `^QEMU emulator version \d+\.\d+`},
		{"mksquashfs", m.Tools.SquashfsTools, `^mksquashfs version \d+\.\d+`},
		{"mke2fs", m.Tools.E2fsprogs, `^mke2fs \d+\.\d+`},
		{"mkfs.erofs", m.Tools.ErofsUtils, `^mkfs\.erofs( \(erofs-utils\))? \d+\.\d+`},
	} {
		if !requireTool(t, tc.tool) {
			if tc.got != NotFound {
				t.Errorf("%s is not installed but its version is %q", tc.tool, tc.got)
			}
			continue
		}
		if !regexp.MustCompile(tc.re).MatchString(tc.got) {
			t.Errorf("%s version %q does not match %s", tc.tool, tc.got, tc.re)
		}
	}
	if d := findVirtiofsd(); d != "" && !strings.Contains(m.Tools.Virtiofsd, "virtiofsd") {
		t.Errorf("virtiofsd %s: version %q", d, m.Tools.Virtiofsd)
	} else if d == "" && m.Tools.Virtiofsd != NotFound {
		t.Errorf("no virtiofsd, but its version is %q", m.Tools.Virtiofsd)
	}
	// A QEMU that does not exist is "not found", not an error.
	m, err = CollectMeta(context.Background(), MetaOptions{Dir: dir, QEMUBinary: "qemu-system-nonesuch", Virtiofsd: "/nonexistent/virtiofsd"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tools.QEMU != NotFound || m.Tools.Virtiofsd != NotFound {
		t.Errorf("absent tools: qemu %q, virtiofsd %q", m.Tools.QEMU, m.Tools.Virtiofsd)
	}
	if _, err := CollectMeta(context.Background(), MetaOptions{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "spec.yaml") {
		t.Errorf("no spec.yaml: %v", err)
	}
}
