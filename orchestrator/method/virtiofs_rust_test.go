package method

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

func rustDaemon(t *testing.T, help string) Virtiofsd {
	t.Helper()
	b, err := os.ReadFile("testdata/virtiofsd/" + help)
	if err != nil {
		t.Fatal(err)
	}
	return Virtiofsd{Path: "/usr/libexec/virtiofsd", Flavor: FlavorRust, Version: "virtiofsd 1.13.2", help: string(b)}
}

// withCaps runs the test with the given effective capabilities.
func withCaps(t *testing.T, caps ...uint) {
	saved, savedRaise := effectiveCaps, canRaiseNoFile
	t.Cleanup(func() { effectiveCaps, canRaiseNoFile = saved, savedRaise })
	var set uint64
	for _, c := range caps {
		set |= 1 << c
	}
	effectiveCaps = func() uint64 { return set }
	canRaiseNoFile = func() bool { return set&(1<<capSysResource) != 0 }
}

func withNoFile(t *testing.T, max uint64) {
	saved := openFileLimit
	t.Cleanup(func() { openFileLimit = saved })
	openFileLimit = func() (unix.Rlimit, error) { return unix.Rlimit{Cur: max, Max: max}, nil }
}

// virtiofsConfig is a cell of the virtiofs method whose daemon the probe found as d.
func virtiofsConfig(d Virtiofsd, owner *tree.Owner, inodes int64, params Params) Config {
	p := Params{"cache": "auto", "thread_pool_size": int64(0), "queue_size": int64(1024), "daemon": "auto", "upper": "tmpfs"}
	for k, v := range params {
		p[k] = v
	}
	return Config{Params: p, Tree: "/t", Sockets: "/s", Mountpoint: "/m", Owner: owner,
		Size:  TreeSize{Inodes: inodes},
		Tools: Found{"virtiofsd": {Path: d.Path, Version: d.Version, Detail: d}}}
}

// TestRustDaemonMapsOwnersAndUsesFileHandles: with the Rust daemon 1.13, tree.owner is the
// daemon's to present (no warning, the guest's owners are the spec's), and as root it
// references inodes by file handles; both are recorded with the cell.
func TestRustDaemonMapsOwnersAndUsesFileHandles(t *testing.T) {
	withCaps(t, capSysAdmin, capDacReadSearch, capSysResource)
	d := rustDaemon(t, "rust-1.13.help")
	p, err := Virtiofs{}.Plan(virtiofsConfig(d, &tree.Owner{UID: 1001, GID: 1001}, 10, Params{"cache": "metadata"}))
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Join(p.Steps[len(p.Steps)-1].Commands[0], " ")
	for _, want := range []string{"--cache=metadata", "--readonly", "--inode-file-handles=prefer",
		"--translate-uid=squash-host:0:1001:4294967295", "--translate-gid=squash-host:0:1001:4294967295"} {
		if !strings.Contains(argv, want) {
			t.Errorf("daemon command %q lacks %s", argv, want)
		}
	}
	if p.HostOwners || len(p.Warnings) != 0 {
		t.Errorf("HostOwners %v, warnings %q: the daemon maps the owners", p.HostOwners, p.Warnings)
	}
	if p.Facts["virtiofsd"] != "rust 1.13.2" || p.Facts["inode_file_handles"] != "prefer" || !strings.Contains(p.Facts["owners"], "1001:1001") {
		t.Errorf("facts %v", p.Facts)
	}

	// Without CAP_DAC_READ_SEARCH no file handles; an older daemon cannot map owners.
	withCaps(t, capSysResource)
	old := rustDaemon(t, "rust-1.1.help")
	p, err = Virtiofs{}.Plan(virtiofsConfig(old, &tree.Owner{UID: 1001, GID: 1001}, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	argv = strings.Join(p.Steps[len(p.Steps)-1].Commands[0], " ")
	if strings.Contains(argv, "--inode-file-handles") || strings.Contains(argv, "--translate-uid") {
		t.Errorf("daemon command %q", argv)
	}
	if !p.HostOwners || len(p.Warnings) == 0 {
		t.Errorf("an old daemon: HostOwners %v, warnings %q; want the host's owners and a warning", p.HostOwners, p.Warnings)
	}
}

// TestVirtiofsRefusesTreesOverTheOpenFileLimit: a tree with more entries than the daemon's
// hard open-file limit is refused before anything runs when the limit cannot be raised and
// no file handles can be used; the message gives the count and the limit.
func TestVirtiofsRefusesTreesOverTheOpenFileLimit(t *testing.T) {
	c := Virtiofsd{Path: cVirtiofsd, Flavor: FlavorC, Version: "virtiofsd version 7.2.22"}
	rust := rustDaemon(t, "rust-1.13.help")
	reserved := rust
	reserved.Reserve = 1024 // with one pool thread, one more than the limit below
	for _, tc := range []struct {
		name   string
		d      Virtiofsd
		caps   []uint
		inodes int64
		refuse string
	}{
		{"C daemon, no CAP_SYS_RESOURCE, tree over the limit", c, []uint{capSysAdmin}, 5000, "the tree has 5000 entries but the virtiofsd may open only 1024 files"},
		{"C daemon, no CAP_SYS_RESOURCE, tree under the limit", c, []uint{capSysAdmin}, 500, ""},
		{"C daemon that may raise its limit", c, []uint{capSysAdmin, capSysResource}, 5000, ""},
		{"Rust daemon with file handles", rust, []uint{capDacReadSearch}, 5000, ""},
		{"Rust daemon without file handles", rust, nil, 5000, "run vmfsbench as root"},
		{"Rust daemon under its own reserve", reserved, []uint{capDacReadSearch}, 5, "needs an open-file limit of at least 1025"},
		{"Rust daemon under its own reserve, limit raisable", reserved, []uint{capDacReadSearch, capSysResource}, 5, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withCaps(t, tc.caps...)
			withNoFile(t, 1024)
			cfg := virtiofsConfig(tc.d, nil, tc.inodes, nil)
			p, err := Virtiofs{}.Plan(cfg)
			if err != nil {
				t.Fatal(err)
			}
			o := DaemonOptions{Cache: "auto"}
			if tc.d.CanFileHandles() {
				o.FileHandles = "prefer"
			}
			err = Virtiofs{}.refuse(cfg, tc.d, o)
			if tc.refuse == "" && err != nil || tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse)) {
				t.Errorf("refuse: %v, want %q", err, tc.refuse)
			}
			_ = p
		})
	}
	withCaps(t, capSysAdmin)
	if err := (Virtiofs{}).refuse(virtiofsConfig(c, nil, 1, nil), c, DaemonOptions{Cache: "metadata"}); err == nil {
		t.Error("cache=metadata with the C daemon: not refused")
	}
}

// TestAutoFallsBackToFetchedRust: with daemon auto, a host whose daemon is the C one and a
// Rust daemon fetched from Debian's archive serves a tree over the C daemon's open-file limit
// with the Rust daemon's file handles, through its loader, and records why; a tree under the
// limit keeps the C daemon.
func TestAutoFallsBackToFetchedRust(t *testing.T) {
	withCaps(t, capSysAdmin, capDacReadSearch)
	withNoFile(t, 20000)
	rust := rustDaemon(t, "rust-1.13.help")
	rust.Path = "/cache/debroot/virtiofsd/root/usr/libexec/virtiofsd"
	rust.Loader = []string{"/cache/debroot/virtiofsd/root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "--library-path",
		"/cache/debroot/virtiofsd/root/usr/lib/x86_64-linux-gnu"}
	rust.Origin = "virtiofsd 1.13.2-1+deb13u1 from Debian trixie, fetched into /cache/debroot/virtiofsd"
	c := Virtiofsd{Path: cVirtiofsd, Flavor: FlavorC, Version: "virtiofsd version 7.2.22", Origin: "host", Fallback: &rust}
	p, err := Virtiofs{}.Plan(virtiofsConfig(c, nil, 160578, nil))
	if err != nil {
		t.Fatal(err)
	}
	argv := p.Steps[len(p.Steps)-1].Commands[0]
	if p.Refused != "" || argv[0] != rust.Loader[0] || argv[3] != rust.Path || !slices.Contains(argv, "--inode-file-handles=prefer") {
		t.Errorf("a tree over the limit: refused %q, command %q", p.Refused, argv)
	}
	if p.Facts["virtiofsd"] != "rust 1.13.2" || p.Facts["virtiofsd_from"] != rust.Origin ||
		!strings.Contains(p.Facts["virtiofsd_why"], "160578 entries") || p.Facts["inode_file_handles"] != "prefer" {
		t.Errorf("facts %q", p.Facts)
	}
	p, err = Virtiofs{}.Plan(virtiofsConfig(c, nil, 500, nil))
	if err != nil {
		t.Fatal(err)
	}
	if argv := p.Steps[len(p.Steps)-1].Commands[0]; argv[0] != cVirtiofsd || p.Facts["virtiofsd_from"] != "host" {
		t.Errorf("a tree under the limit: command %q, facts %q", argv, p.Facts)
	}
}

// TestRustDaemonReserve asks the real Rust daemon (the host's, or Debian 13's that make test
// fetches) how many descriptors it keeps for itself, and checks the answer against the
// daemon itself: under Reserve+1 with one pool thread it refuses to start, at Reserve+1 it
// gets past that check.
func TestRustDaemonReserve(t *testing.T) {
	d := FindTool(context.Background(), Virtiofs{}.Tools(Params{"daemon": "rust"})[0])
	if d.Err != nil {
		testenv.Missing(t, "the Rust virtiofsd (make test fetches Debian 13's): %v", d.Err)
	}
	vd := d.Detail.(Virtiofsd)
	if vd.Reserve < 16 {
		t.Fatalf("%s: reserve %d, want the daemon's own figure", vd.Version, vd.Reserve)
	}
	t.Logf("%s keeps %d descriptors", vd.Version, vd.Reserve)
	dir := t.TempDir()
	for _, n := range []int{vd.Reserve, vd.Reserve + 1} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		argv := append(slices.Clone(vd.Loader), vd.Path, "--socket-path="+filepath.Join(dir, fmt.Sprintf("%d.sock", n)),
			"--shared-dir="+dir, fmt.Sprintf("--rlimit-nofile=%d", n), "--thread-pool-size=1", "--sandbox=none")
		out, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		cancel()
		if refused := strings.Contains(string(out), "too small"); refused != (n == vd.Reserve) {
			t.Errorf("limit %d: refused %v, output %s", n, refused, out)
		}
	}
}
