package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/testenv"
)

// runJob runs execute in host mode on job and returns its exit code and events.
func runJob(t *testing.T, ctx context.Context, job any, ports string) (int, []protocol.Event) {
	t.Helper()
	dir := t.TempDir()
	jobPath := filepath.Join(dir, "job.json")
	var data []byte
	if s, ok := job.(string); ok {
		data = []byte(s)
	} else {
		var err error
		if data, err = json.Marshal(job); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(jobPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var events, logs bytes.Buffer
	code := execute(ctx, options{
		jobPath:     jobPath,
		modulesPath: filepath.Join(dir, "modules"),
		modulesDir:  dir,
		portDir:     ports,
		events:      &events,
		log:         &logs,
	})
	t.Logf("agent log:\n%s", logs.String())
	return code, decodeAll(t, &events)
}

func decodeAll(t *testing.T, r io.Reader) []protocol.Event {
	t.Helper()
	var evs []protocol.Event
	dec := protocol.NewDecoder(r)
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			return evs
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.T <= 0 {
			t.Errorf("event %s has no time", ev.Kind)
		}
		evs = append(evs, ev)
	}
}

// kinds lists "kind" or "kind:step" per event.
func kinds(evs []protocol.Event) []string {
	var ks []string
	for _, e := range evs {
		k := string(e.Kind)
		if e.Step != "" {
			k += ":" + e.Step
		}
		ks = append(ks, k)
	}
	return ks
}

func last(evs []protocol.Event) protocol.Event {
	if len(evs) == 0 {
		return protocol.Event{}
	}
	return evs[len(evs)-1]
}

func TestExecuteReadAll(t *testing.T) {
	files, links := trickyTree()
	root := makeTree(t, files, links)
	mk := filepath.Join(t.TempDir(), "made", "here")
	job := protocol.Job{
		Cell:       "test/r1",
		Steps:      []protocol.Step{{Kind: protocol.StepMkdir, Path: mk}, {Kind: protocol.StepSync, Name: "flush"}},
		Workload:   protocol.Workload{Kind: protocol.WorkloadReadAll, Readers: 3},
		Mountpoint: root,
	}
	code, evs := runJob(t, context.Background(), job, "")
	want := []string{"ready", "modules", "step-start:1:mkdir", "step-end:1:mkdir", "step-start:flush", "step-end:flush",
		"step-start:workload", "step-end:workload", "result:workload", "done"}
	if got := kinds(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events %q\nwant %q", got, want)
	}
	if code != 0 {
		t.Errorf("exit code %d", code)
	}
	if got, want := evs[8].Result.Summary, handDigest(files, links).Summary; got != want {
		t.Errorf("result %+v, want %+v", got, want)
	}
	if info, err := os.Stat(mk); err != nil || !info.IsDir() {
		t.Errorf("mkdir step: %v", err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].T < evs[i-1].T {
			t.Errorf("event %d goes back in time: %v < %v", i, evs[i].T, evs[i-1].T)
		}
	}
}

func TestExecuteStatAll(t *testing.T) {
	root := makeTree(t, map[string]string{"a/b": "12345"}, nil)
	code, evs := runJob(t, context.Background(), protocol.Job{Workload: protocol.Workload{Kind: protocol.WorkloadStatAll, Root: root}}, "")
	if code != 0 || last(evs).Kind != protocol.EventDone {
		t.Fatalf("code %d, events %q", code, kinds(evs))
	}
	res := evs[len(evs)-2].Result
	if res == nil || res.Entries != 2 || res.Files != 1 || res.Bytes != 5 {
		t.Errorf("result %+v", res)
	}
}

func TestExecuteExecFails(t *testing.T) {
	job := protocol.Job{Workload: protocol.Workload{Kind: protocol.WorkloadExec, Root: t.TempDir(), Env: hostEnv,
		Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}}
	code, evs := runJob(t, context.Background(), job, "")
	if code != 1 {
		t.Errorf("exit code %d", code)
	}
	var out, errOut string
	var res *protocol.Result
	for _, e := range evs {
		switch {
		case e.Kind == protocol.EventOutput && e.Stream == protocol.StreamStdout:
			out += e.Data
		case e.Kind == protocol.EventOutput && e.Stream == protocol.StreamStderr:
			errOut += e.Data
		case e.Kind == protocol.EventResult:
			res = e.Result
		case e.Kind == protocol.EventDone:
			t.Error("a failed workload sent done")
		}
	}
	if out != "out\n" || errOut != "err\n" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	if res == nil || res.ExitCode != 3 {
		t.Errorf("result %+v, want exit code 3", res)
	}
	if e := last(evs); e.Kind != protocol.EventError || e.Error != "workload exited with status 3" {
		t.Errorf("last event %+v", e)
	}
}

// TestExecuteFailures covers every way a job can fail: each must end with an "error" event
// naming the cause and never with "done".
func TestExecuteFailures(t *testing.T) {
	tree := t.TempDir()
	tests := []struct {
		name    string
		job     any
		timeout time.Duration
		err     string
	}{
		{"garbled job", `{"cell": "x",`, 0, "job.json: decoding job: unexpected EOF"},
		{"invalid job", `{"workload": {"kind": "grep"}}`, 0, `job.json: invalid job: workload: unknown kind "grep"`},
		{"panic", protocol.Job{Fault: protocol.FaultPanic}, 0, "agent panic: fault injection: panic"},
		{"hang", protocol.Job{Fault: protocol.FaultHang}, 300 * time.Millisecond, "context deadline exceeded"},
		// On the host the kernel-panic fault must refuse, or this test would crash the machine.
		{"kernel panic refused", protocol.Job{Fault: protocol.FaultKernelPanic}, 0, "fault kernel-panic: refusing"},
		{"mount refused", protocol.Job{Steps: []protocol.Step{{Kind: protocol.StepMount, Source: "tmpfs", Target: filepath.Join(tree, "m"), FSType: "tmpfs"}}},
			0, "step 1:mount: mount: refusing outside the guest (not PID 1)"},
		{"overlay refused", protocol.Job{Steps: []protocol.Step{{Kind: protocol.StepOverlay, Lower: tree, Target: filepath.Join(tree, "o")}}},
			0, "step 1:overlay: overlay: refusing outside the guest"},
		{"net-up refused", protocol.Job{Steps: []protocol.Step{{Kind: protocol.StepNetUp}}}, 0, "step 1:net-up: net-up: refusing"},
		{"no port", protocol.Job{Steps: []protocol.Step{{Kind: protocol.StepReceiveTar, Port: "data", Target: tree}}}, 0,
			`step 1:receive-tar: port "data": not PID 1 and no -ports directory`},
		{"read-all missing root", protocol.Job{Mountpoint: filepath.Join(tree, "nope"), Workload: protocol.Workload{Kind: protocol.WorkloadReadAll}}, 0,
			"walk: stat " + filepath.Join(tree, "nope")},
		{"exec timeout", protocol.Job{Workload: protocol.Workload{Kind: protocol.WorkloadExec, Root: tree, Env: hostEnv, Argv: []string{"sleep", "20"}, Timeout: 0.2}}, 0,
			"workload timed out after 0.2s and was killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			code, evs := runJob(t, ctx, tt.job, "")
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if len(evs) < 2 || evs[0].Kind != protocol.EventReady || evs[1].Kind != protocol.EventModules {
				t.Errorf("events %q: want ready and modules first", kinds(evs))
			}
			for _, e := range evs {
				if e.Kind == protocol.EventDone {
					t.Errorf("a failed job sent done: %q", kinds(evs))
				}
			}
			if e := last(evs); e.Kind != protocol.EventError || !strings.Contains(e.Error, tt.err) {
				t.Errorf("last event %+v, want an error containing %q", e, tt.err)
			}
			if tt.timeout > 0 && time.Since(start) < tt.timeout {
				t.Errorf("returned after %v, before the context ended", time.Since(start))
			}
		})
	}
}

func TestExecuteReceiveTar(t *testing.T) {
	ports := t.TempDir()
	stream := tarStream(t, []tarEntry{
		{tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "d/f", Typeflag: tar.TypeReg, Mode: 0o644}, "content"},
		{tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "d/f"}, ""},
	})
	if err := os.WriteFile(filepath.Join(ports, "data"), stream, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "tree")
	job := protocol.Job{
		Steps:      []protocol.Step{{Kind: protocol.StepReceiveTar, Port: "data", Target: target}},
		Workload:   protocol.Workload{Kind: protocol.WorkloadReadAll},
		Mountpoint: target,
	}
	code, evs := runJob(t, context.Background(), job, ports)
	if code != 0 || last(evs).Kind != protocol.EventDone {
		t.Fatalf("code %d, events %+v", code, evs)
	}
	var end, result *protocol.Result
	for _, e := range evs {
		if e.Kind == protocol.EventStepEnd && e.Step == "1:receive-tar" {
			end = e.Result
		}
		if e.Kind == protocol.EventResult {
			result = e.Result
		}
	}
	if end == nil || end.Files != 1 || end.Symlinks != 1 || end.Bytes != 7 {
		t.Errorf("receive-tar result %+v", end)
	}
	want := handDigest(map[string]string{"d/f": "content"}, map[string]string{"l": "d/f"})
	if result == nil || result.Summary != want.Summary {
		t.Errorf("read-all result %+v, want %+v", result, want.Summary)
	}
}

func TestLoadJob(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	list := write("modules", "virtio_ring.ko\nvirtio.ko\n")
	tests := []struct {
		name, job, modules string
		want               []string
		err                string
	}{
		{"modules from the job", `{"cell":"c","modules":["a.ko"]}`, list, []string{"a.ko"}, ""},
		{"modules from the list", `{"cell":"c"}`, list, []string{"virtio_ring.ko", "virtio.ko"}, ""},
		{"no list", `{"cell":"c"}`, filepath.Join(dir, "missing"), nil, ""},
		{"bad list", `{"cell":"c"}`, write("bad", "../../etc/x.ko\n"), nil, `bad: invalid job: modules: "../../etc/x.ko" is not a file name`},
		{"list is a directory", `{"cell":"c"}`, dir, nil, "reading module list: read " + dir + ": is a directory"},
		{"unknown field", `{"cell":"c","workload":{"kind":"exec","argv":["x"],"user":1}}`, list, nil, `decoding job: json: unknown field "user"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, err := loadJob(write("job.json", tt.job), tt.modules)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(job.Modules, tt.want) {
				t.Errorf("modules %q, want %q", job.Modules, tt.want)
			}
		})
	}
	if _, err := loadJob(filepath.Join(dir, "nojob.json"), list); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing job: %v", err)
	}
}

func TestMountOptions(t *testing.T) {
	tests := []struct {
		opts  string
		ro    bool
		flags uintptr
		data  string
	}{
		{"", false, 0, ""},
		{"", true, 1, ""}, // MS_RDONLY
		{"trans=virtio,version=9p2000.L,msize=512000,cache=loose", false, 0, "trans=virtio,version=9p2000.L,msize=512000,cache=loose"},
		{"ro,noatime,cache=always", false, 1 | 1024, "cache=always"}, // MS_RDONLY|MS_NOATIME
		{"rw", true, 0, ""},
		{"nosuid,nodev,,mode=0755", false, 2 | 4, "mode=0755"},
	}
	for _, tt := range tests {
		flags, data := mountOptions(tt.opts, tt.ro)
		if flags != tt.flags || data != tt.data {
			t.Errorf("mountOptions(%q, %v) = %#x, %q; want %#x, %q", tt.opts, tt.ro, flags, data, tt.flags, tt.data)
		}
	}
}

// TestBinary builds the agent as the initramfs gets it and runs it on the host.
func TestBinary(t *testing.T) {
	testenv.NotShort(t, "building the agent")
	bin := filepath.Join(t.TempDir(), "init")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := makeTree(t, map[string]string{"x": "y"}, nil)
	dir := t.TempDir()
	job := filepath.Join(dir, "job.json")
	os.WriteFile(job, []byte(`{"cell":"bin","workload":{"kind":"read-all","root":"`+root+`"}}`), 0o644)
	events := filepath.Join(dir, "events")
	cmd := exec.Command(bin, "-job", job, "-events", events)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs := decodeAll(t, f)
	if last(evs).Kind != protocol.EventDone || evs[len(evs)-2].Result.Files != 1 {
		t.Errorf("events %+v", evs)
	}
	// A failing job exits 1.
	os.WriteFile(job, []byte(`{"fault":"panic"}`), 0o644)
	if err := exec.Command(bin, "-job", job, "-events", events).Run(); err == nil || err.(*exec.ExitError).ExitCode() != 1 {
		t.Errorf("panic fault: %v, want exit status 1", err)
	}
}
