package method

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Virtiofsd is a virtiofs daemon found on the host. The C daemon that Debian's QEMU ships and
// the Rust one take different flags; Argv speaks the right dialect.
type Virtiofsd struct {
	Path   string
	Flavor string // "c" or "rust"
}

// cVirtiofsd is where Debian's qemu-system packages install the C daemon.
const cVirtiofsd = "/usr/lib/qemu/virtiofsd"

// FindVirtiofsd locates the daemon: a given path, else virtiofsd on PATH (the Rust daemon is
// installed there), else the C daemon from QEMU. The flavour is read from its --version.
func FindVirtiofsd(want string) Virtiofsd {
	p := want
	if p == "" || p == "auto" {
		p = cVirtiofsd
		if lp, err := exec.LookPath("virtiofsd"); err == nil {
			p = lp
		} else if lp, err := exec.LookPath("/usr/libexec/virtiofsd"); err == nil {
			p = lp
		}
	}
	return Virtiofsd{Path: p, Flavor: virtiofsdFlavor(p)}
}

// virtiofsdFlavor tells the daemons apart: the C one lives beside QEMU and answers --version
// with "virtiofsd version"; the Rust one with "virtiofsd 1.x".
func virtiofsdFlavor(p string) string {
	if p == cVirtiofsd {
		return "c"
	}
	if _, err := os.Stat(p); err != nil {
		return "rust"
	}
	out, _ := exec.Command(p, "--version").CombinedOutput()
	if len(out) > 0 && (strings.Contains(string(out), "using FUSE") || strings.Contains(string(out), "virtiofsd version")) {
		return "c"
	}
	return "rust"
}

// Argv is the daemon's command line serving tree on socket with the given cache mode
// (always, auto or never) and thread pool size.
func (d Virtiofsd) Argv(socket, tree, cache string, threads int) []string {
	if d.Flavor == "c" {
		if cache == "never" {
			cache = "none"
		}
		return []string{d.Path, "--socket-path=" + socket, "-o", "source=" + tree, "-o", "cache=" + cache,
			"-o", "sandbox=namespace", "--thread-pool-size=" + strconv.Itoa(threads), "--rlimit-nofile=1048576"}
	}
	return []string{d.Path, "--socket-path=" + socket, "--shared-dir=" + tree, "--cache=" + cache,
		"--sandbox=namespace", "--readonly", "--thread-pool-size=" + strconv.Itoa(threads), "--rlimit-nofile=1048576"}
}
