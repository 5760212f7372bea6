package run

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// hostVirtiofsd is the virtiofsd the host probe finds for daemon: auto.
func hostVirtiofsd() method.HostTool {
	return method.FindTool(context.Background(), method.Virtiofs{}.Tools(method.Params{"daemon": "auto"})[0])
}

// needVirtiofsd makes sure QEMU's C virtiofsd can serve a guest: installed, and run as root.
func needVirtiofsd(t testing.TB) {
	t.Helper()
	d := hostVirtiofsd()
	if d.Err == nil && os.Geteuid() == 0 {
		return
	}
	why := "virtiofsd must run as root"
	if d.Err != nil {
		why = d.Err.Error()
	}
	testenv.Missing(t, "%s", why)
}

// virtiofsSpec reads a synthetic tree of 2,000 files (more than 1,024 of them visible after
// the exclusions, so the daemon holds more descriptors than a default soft limit allows)
// over virtiofs with the given parameters.
func virtiofsSpec(params, timeout string) string {
	return `version: 1
name: virtiofs-test
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
cache: [asis]
methods: [virtiofs: {` + params + `}]
tree:
  synthetic: {files: 2000, bytes: 4MiB, seed: 11}
  exclude: [.git, "build/*", "!build/stage2cross"]
workload: {builtin: read-all, timeout: ` + timeout + `}
`
}

// treeState is the tree's full stat listing (see hostState), as one string.
func treeState(t *testing.T, root string) string {
	t.Helper()
	return strings.Join(hostState(t, root), "\n")
}

// TestReadAllOverVirtiofs boots a guest that reads the tree over the host's virtiofsd with
// each cache mode, and over the Rust daemon (daemon: rust), which on Debian 12 is Debian 13's
// fetched by `vmfsbench tool fetch virtiofsd` and run through its own loader: the digest must
// match the host's, the host tree must not change, the daemon must be gone afterwards.
func TestReadAllOverVirtiofs(t *testing.T) {
	needGuest(t)
	needVirtiofsd(t)
	for _, tc := range []struct{ name, cache, daemon string }{{"always", "always", "auto"}, {"never", "never", "auto"}, {"rust", "always", "rust"}} {
		t.Run(tc.name, func(t *testing.T) {
			cache := tc.cache
			d := method.FindTool(context.Background(), method.Virtiofs{}.Tools(method.Params{"daemon": tc.daemon})[0])
			if d.Err != nil {
				testenv.Missing(t, "the %s virtiofsd (make test fetches Debian 13's): %v", tc.daemon, d.Err)
			}
			var before string
			res, r := runOne(t, virtiofsSpec("cache: "+cache+", daemon: "+tc.daemon, "5m"), func(r *testRunner) { before = treeState(t, r.Host.Tree) })
			if res.Status != results.StatusOK {
				t.Fatalf("cell failed: %s", res.Error)
			}
			if res.DigestOK == nil || !*res.DigestOK || res.Digest != r.Want.Digest {
				t.Errorf("guest digest %s, host %s", res.Digest, r.Want.Digest)
			}
			if res.Guest.Files != r.Want.Files || res.Guest.Files <= 1024 {
				t.Errorf("guest read %d files, host has %d (want more than 1024)", res.Guest.Files, r.Want.Files)
			}
			if after := treeState(t, r.Host.Tree); after != before {
				t.Errorf("the host tree changed: %s before, %s after", before, after)
			}
			if left := processesMentioning("--socket-path=" + r.Dirs.Sockets); len(left) > 0 {
				t.Errorf("virtiofsd left running: %v", left)
			}
			host := hostLog(t, r, res)
			// The C daemon's supervisor logs its open-file limit and takes cache=none for never;
			// the Rust daemon (the Debian 13 lane) raises its own limit and says never.
			dd := d.Detail.(method.Virtiofsd)
			argv0 := append(dd.Loader, dd.Path)[0]
			wants := []string{"$ " + argv0, "listens on", "open-file limit", "cache=" + map[string]string{"always": "always", "never": "none"}[cache]}
			if strings.HasPrefix(res.Facts["virtiofsd"], "rust") {
				wants = []string{"$ " + argv0, " " + dd.Path + " ", "listens on", "--cache=" + cache, "--inode-file-handles=prefer"}
			}
			if tc.daemon == "rust" && testenv.Release() == 12 &&
				(!strings.HasPrefix(res.Facts["virtiofsd"], "rust 1.") || !strings.Contains(res.Facts["virtiofsd_from"], "fetched")) {
				t.Errorf("on Debian 12 the Rust daemon is the fetched one; the cell says %q from %q", res.Facts["virtiofsd"], res.Facts["virtiofsd_from"])
			}
			for _, want := range wants {
				if !strings.Contains(host, want) {
					t.Errorf("host.log lacks %q:\n%s", want, host)
				}
			}
			t.Logf("read-all %.2fs (workload phase %.2fs), %d files, %d bytes", res.Guest.WorkloadSeconds, res.Phases["workload"], res.Guest.Files, res.Guest.Bytes)
		})
	}
}

func hostLog(t *testing.T, r *testRunner, res *results.Cell) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.Dirs.Run, "logs", plan.FileName(res.ID), HostFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVirtiofsdDyingFailsTheCell kills the daemon (all its processes) once the guest's
// workload has started: the cell must fail within a bounded time, the host log must say the
// daemon died, and nothing may be left running. The daemon's step aborts the cell when the
// daemon exits (method.Env.Abort), so the error names virtiofsd and comes well before the
// workload timeout.
func TestVirtiofsdDyingFailsTheCell(t *testing.T) {
	needGuest(t)
	needVirtiofsd(t)
	const timeout = 5 * time.Minute
	killed := make(chan []int, 1)
	var killedAt time.Time // written before the send on killed
	res, r := runOne(t, virtiofsSpec("cache: never", timeout.String()), func(r *testRunner) {
		go func() {
			pids := killDaemonAtWorkload(r, 5*time.Minute)
			killedAt = time.Now()
			killed <- pids
		}()
	})
	pids := <-killed
	if len(pids) == 0 {
		t.Fatal("the daemon was never seen serving a running workload")
	}
	t.Logf("killed virtiofsd pids %v", pids)
	if res.Status != results.StatusFailed {
		t.Fatalf("status %s, want failed", res.Status)
	}
	if !strings.Contains(res.Error, "virtiofsd (pid ") || !strings.Contains(res.Error, "died while the guest ran") {
		t.Errorf("error %q does not say that virtiofsd died", res.Error)
	}
	if d, limit := res.End.Sub(killedAt), time.Minute; d > limit {
		t.Errorf("the cell ended %s after the kill, want under %s", d, limit)
	}
	host := hostLog(t, r, res)
	if !strings.Contains(host, "exited by itself: signal: killed") {
		t.Errorf("host.log does not record the daemon's death:\n%s", host)
	}
	if left := processesMentioning(r.Dirs.Sockets); len(left) > 0 {
		t.Errorf("left running: %v", left)
	}
}

// killDaemonAtWorkload waits until the guest reports the workload's start and SIGKILLs every
// virtiofsd of the run. It returns the pids killed, none if it gave up.
func killDaemonAtWorkload(r *testRunner, within time.Duration) []int {
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		evs, _ := filepath.Glob(filepath.Join(r.Dirs.Run, "logs", "*", EventsFile))
		started := false
		for _, f := range evs {
			b, _ := os.ReadFile(f)
			started = started || strings.Contains(string(b), `"step":"workload"`)
		}
		if !started {
			continue
		}
		var pids []int
		for _, p := range processesMentioning("--socket-path=" + r.Dirs.Sockets) {
			if pid, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0]); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
				pids = append(pids, pid)
			}
		}
		return pids
	}
	return nil
}

// TestMeasureVirtiofs times read-all of the test tree for each cache mode and two thread pool
// sizes, one run each, about 2 minutes: `make bench` runs it. cache=never with 16 threads is
// left out: the C daemon dies under it (see Virtiofs.Warnings).
func BenchmarkMeasureVirtiofs(b *testing.B) {
	t := b
	needGuest(t)
	needVirtiofsd(t)
	for _, params := range []string{
		"cache: always, thread_pool_size: 0", "cache: auto, thread_pool_size: 0", "cache: never, thread_pool_size: 0",
		"cache: always, thread_pool_size: 16", "cache: auto, thread_pool_size: 16",
	} {
		res, _ := runOne(t, virtiofsSpec(params, "10m"), nil)
		if res.Status != results.StatusOK {
			t.Errorf("%s: %s", params, res.Error)
			continue
		}
		t.Logf("MEASURE %-38s read-all %6.2fs  boot %5.2fs  mount %5.2fs  files %d bytes %d",
			params, res.Guest.WorkloadSeconds, res.Phases["boot"], res.Phases["mount"], res.Guest.Files, res.Guest.Bytes)
	}
}

// TestVirtiofsOwners: with tree.owner 1001:1001 and --verify, a daemon that translates owners
// (the Rust virtiofsd 1.13, in the Debian 13 lane) shows the guest every entry as 1001:1001;
// one that cannot (the C daemon) shows the host's owners and the plan warns of it. Either way
// the share's lower layer refuses writes.
func TestVirtiofsOwners(t *testing.T) {
	needGuest(t)
	needVirtiofsd(t)
	res, _ := runOne(t, strings.Replace(virtiofsSpec("cache: always", "5m"), "tree:\n", "tree:\n  owner: {uid: 1001, gid: 1001}\n", 1),
		func(r *testRunner) { r.Choices.Verify = true })
	if res.Status != results.StatusOK {
		t.Fatalf("cell failed: %s", res.Error)
	}
	v := res.Verify
	if v == nil || !v.LowerChecked || !strings.Contains(v.LowerWriteError, "read-only") {
		t.Fatalf("verify %+v, want the lower layer checked and read-only", v)
	}
	translated := strings.HasPrefix(res.Facts["owners"], "translated to 1001:1001")
	warned := strings.Contains(strings.Join(res.Warnings, "\n"), "cannot present tree.owner")
	t.Logf("daemon %s, owners %v, facts %v", res.Facts["virtiofsd"], v.Owners, res.Facts)
	switch {
	case translated && (len(v.Owners) != 1 || v.Owners["1001:1001"] == 0 || warned):
		t.Errorf("the daemon translates owners, but the guest saw %v (warned %v)", v.Owners, warned)
	case !translated && (v.Owners["1001:1001"] != 0 || !warned):
		t.Errorf("the daemon keeps host owners, but the guest saw %v (warned %v)", v.Owners, warned)
	}
}
