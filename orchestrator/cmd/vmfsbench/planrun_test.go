package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestPlanIsWhatRuns runs one cell of every method and of every kind of host step (an image
// build with an exclusion list and an owner, on the ext4 route the plan picks here, a
// daemon, a scratch disk, a port forward, a stream) and of every device (blk as -drive and as
// -blockdev with an iothread, pmem read-only and private, 9p, vhost-user-fs, virtio-serial,
// user net) for real, then checks that every host command each cell recorded is, with the
// run's directories put back as placeholders, the command `vmfsbench plan --json` prints for
// that cell, in the same order and in the same step, and that the plan writes each cell's
// initramfs in a step of its own before the boot. The two pmem and -blockdev cells cost
// about 2 of its minutes under TCG.
func TestPlanIsWhatRuns(t *testing.T) {
	needGuest(t)
	needVirtiofsdCLI(t)
	dir := t.TempDir()
	tmp, env := privateTmp(t)
	specFile := filepath.Join(dir, "planrun.yaml")
	must(t, os.WriteFile(specFile, []byte(`version: 1
name: planrun
tree:
  synthetic: {files: 500, bytes: 2MiB, seed: 31}
  exclude: [.git, "build/*", "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
qemu: {cpus: 2, memory: 512MiB, accel: tcg}
workload: {builtin: read-all, timeout: 5m}
cache: [asis]
methods:
  - squashfs: {upper: disk}
  - squashfs: {iothread: true, queues: 2}
  - ext4: {}
  - ext4: {device: pmem}
  - erofs: {compression: none, device: pmem}
  - 9p: {}
  - virtiofs: {cache: always}
  - ssh-tar: {}
  - serial-tar: {target: disk}
`), 0o644))

	out := filepath.Join(dir, "out")
	c := startCLI(t, dir, env, "run", "-o", out, specFile)
	if code := c.wait(t, 15*time.Minute); code != 0 {
		t.Fatalf("run exited %d:\n%s\n%s", code, c.stdout.String(), c.stderr.String())
	}
	p := startCLI(t, dir, env, "plan", "--json", specFile)
	if code := p.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("plan exited %d:\n%s", code, p.stderr.String())
	}
	var planned struct {
		Notes []string    `json:"notes"`
		Cells []plan.Cell `json:"cells"`
	}
	must(t, json.Unmarshal(p.stdout.Bytes(), &planned))
	if len(planned.Notes) > 0 {
		t.Errorf("the plan has notes after a run: %v", planned.Notes)
	}
	if len(planned.Cells) != 9 {
		t.Fatalf("%d planned cells, want 9", len(planned.Cells))
	}
	sockets := regexp.MustCompile(regexp.QuoteMeta(tmp) + `/vmfsbench\.[^/]+`)
	for _, pc := range planned.Cells {
		res, err := results.ReadCell(filepath.Join(out, "cells", plan.FileName(pc.ID)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != results.StatusOK {
			t.Errorf("%s: %s", res.ID, res.Error)
		}
		var want, kinds []string
		for _, s := range pc.Steps {
			kinds = append(kinds, string(s.Kind))
			for _, argv := range s.Commands {
				want = append(want, string(s.Kind)+": "+strings.Join(argv, " "))
			}
		}
		var got []string
		for _, cmd := range res.Commands {
			line := strings.Join(cmd.Argv, " ")
			line = strings.ReplaceAll(line, out, plan.RunPlaceholder)
			line = sockets.ReplaceAllLiteralString(line, plan.SocketsPlaceholder)
			line = strings.ReplaceAll(line, "127.0.0.1:"+strconv.Itoa(res.HostPort)+"-", "127.0.0.1:"+strconv.Itoa(plan.PlanHostPort)+"-")
			got = append(got, cmd.Step+": "+line)
		}
		if len(want) == 0 || !strings.HasPrefix(want[len(want)-1], "boot: ") {
			t.Errorf("%s: the plan has no QEMU command last: %q", pc.ID, want)
		}
		if i := slices.Index(kinds, "boot"); i < 1 || kinds[i-1] != "initramfs" {
			t.Errorf("%s: the plan's steps %q do not write the initramfs right before the boot", pc.ID, kinds)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the run's commands\n%s\ndiffer from the plan's\n%s", pc.ID, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// needVirtiofsdCLI makes sure a virtiofsd can serve a guest here: installed, and run as root.
func needVirtiofsdCLI(t *testing.T) {
	t.Helper()
	ok := os.Geteuid() == 0
	if ok {
		_, err := os.Stat("/usr/lib/qemu/virtiofsd")
		_, err2 := os.Stat("/usr/libexec/virtiofsd")
		ok = err == nil || err2 == nil
	}
	if ok {
		return
	}
	testenv.Missing(t, "no virtiofsd runs here as root")
}
