// Package testenv is the one place that decides whether a test that needs something of the
// host (a tool, a kernel, root, a QEMU) runs. With CI=true a missing piece fails the test,
// never skips it: CI proves what it claims to run. Without CI the test skips, loudly, naming
// what is missing and how to get it.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI (CI set to anything but "" or "false").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Missing ends the test because something it needs is missing: a failure in CI, a loud skip
// elsewhere. what says what is missing and, where it helps, how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI=true but %s: this test must run in CI", what)
	}
	t.Skipf("!!! SKIPPING: %s (with CI=true this fails) !!!", what)
}

// Need ends the test (see Missing) when err is not nil; what names the need.
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		Missing(t, "%s: %v", what, err)
	}
}

// LookTool finds a host program by name on PATH, then in /usr/sbin and /sbin (which a
// non-root PATH may lack); a name with a slash must be an executable file.
func LookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	} else if strings.Contains(name, "/") {
		return "", err
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed", name)
}

// Tool returns the path of each host program named, in order, or ends the test (see
// Missing) at the first one missing.
func Tool(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, 0, len(names))
	for _, n := range names {
		p, err := LookTool(n)
		if err != nil {
			Missing(t, "%s is not installed", n)
		}
		paths = append(paths, p)
	}
	return paths
}

// Root ends the test (see Missing) unless it runs as root; why says what needs root.
func Root(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "not root: %s needs root", why)
	}
}

// NotShort skips the test under -short, which asks for the tests that need nothing of the
// host; why says what the test would do. This is the one skip CI allows: `make test` never
// passes -short.
func NotShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: not %s", why)
	}
}

// Release is the Debian release the tests run on (12, 13, ...), from /etc/os-release's
// VERSION_ID; 0 elsewhere. CI's lanes differ in their stack (Debian 12's C virtiofsd, Debian
// 13's Rust one): a test of one stack's program requires it on that stack's lane.
func Release() int {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return 0
	}
	var id string
	var v int
	for _, l := range strings.Split(string(b), "\n") {
		k, val, _ := strings.Cut(l, "=")
		val = strings.Trim(val, `"`)
		switch k {
		case "ID":
			id = val
		case "VERSION_ID":
			v, _ = strconv.Atoi(val)
		}
	}
	if id != "debian" {
		return 0
	}
	return v
}

// Guest ends the test (see Missing) unless it may boot a guest here: not under -short (see
// NotShort), qemu-system-x86_64 installed, and findKernel, the caller's look-up of the cached
// guest kernel (testenv imports nothing of vmfsbench), finding it.
func Guest(t testing.TB, findKernel func() error) {
	t.Helper()
	NotShort(t, "booting guests")
	if _, err := LookTool("qemu-system-x86_64"); err != nil {
		Missing(t, "qemu-system-x86_64 is not installed (make tools, or apt-get install qemu-system-x86)")
	}
	if err := findKernel(); err != nil {
		Missing(t, "no guest kernel (make kernel fetches it): %v", err)
	}
}

// Inapplicable skips a test that has nothing to check on this host, in CI as elsewhere: what
// it checks cannot happen here (root reads a file whatever its mode) or is another lane's
// (Debian 13 has no C virtiofsd). why says which. It is never for something missing: that is
// Missing, which CI turns into a failure.
func Inapplicable(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Skipf("not applicable here: "+format, args...)
}

// OptIn skips the test unless the environment variable env is set, and returns its value: a
// case run on purpose, such as a long one a make target runs or a test's own second process.
// what says who sets env.
func OptIn(t testing.TB, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("runs with %s set: %s", env, what)
	}
	return v
}
