package protocol

import (
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJob(t *testing.T) {
	in := `{
  "cell": "squashfs.compression=none/empty/r1",
  "modules": ["virtio_ring.ko", "virtio.ko", "squashfs.ko", "overlay.ko"],
  "steps": [
    {"kind": "mkdir", "path": "/mnt/lower", "mode": 493},
    {"kind": "mount", "source": "/dev/vda", "target": "/mnt/lower", "fstype": "squashfs", "readonly": true},
    {"kind": "overlay", "name": "tree", "lower": "/mnt/lower", "target": "/root/tree"},
    {"kind": "sync"}
  ],
  "workload": {"kind": "read-all", "timeout": 600, "readers": 8},
  "mountpoint": "/root/tree"
}`
	j, err := DecodeJob(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Job{
		Cell:    "squashfs.compression=none/empty/r1",
		Modules: []string{"virtio_ring.ko", "virtio.ko", "squashfs.ko", "overlay.ko"},
		Steps: []Step{
			{Kind: StepMkdir, Path: "/mnt/lower", Mode: 0o755},
			{Kind: StepMount, Source: "/dev/vda", Target: "/mnt/lower", FSType: "squashfs", ReadOnly: true},
			{Kind: StepOverlay, Name: "tree", Lower: "/mnt/lower", Target: "/root/tree"},
			{Kind: StepSync},
		},
		Workload:   Workload{Kind: WorkloadReadAll, Timeout: 600, Readers: 8},
		Mountpoint: "/root/tree",
	}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("got  %+v\nwant %+v", j, want)
	}
	labels := []string{"1:mkdir", "2:mount", "tree", "4:sync"}
	for i, s := range j.Steps {
		if got := s.Label(i); got != labels[i] {
			t.Errorf("step %d label %q, want %q", i, got, labels[i])
		}
	}
}

func TestDecodeJobErrors(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"not json", `cell: x`, "decoding job: invalid character 'c' looking for beginning of value"},
		{"unknown field", `{"cell":"c","workload":{},"modles":[]}`, `decoding job: json: unknown field "modles"`},
		{"trailing data", `{"cell":"c"} {}`, "decoding job: data after the job object"},
		{"wrong type", `{"cell":"c","steps":{"kind":"sync"}}`, "decoding job: json: cannot unmarshal object into Go struct field Job.steps of type []protocol.Step"},
		{"empty", ``, "decoding job: EOF"},
		{"invalid", `{"steps":[{"kind":"mount","target":"mnt"}]}`, "invalid job: steps[0] (mount): fstype is required\nsteps[0] (mount): target \"mnt\" is not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeJob(strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.err {
				t.Errorf("error:\n got %v\nwant %s", err, tt.err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		job  Job
		err  string // "" = valid
	}{
		{"empty job", Job{}, ""},
		{"all steps", Job{Steps: []Step{
			{Kind: StepMkdir, Path: "/a"},
			{Kind: StepMount, Source: "tag", Target: "/a", FSType: "9p", Options: "trans=virtio"},
			{Kind: StepOverlay, Lower: "/a", Target: "/b", UpperDevice: "/dev/vdb"},
			{Kind: StepReceiveTar, Port: "data", Target: "/c"},
			{Kind: StepNetUp},
			{Kind: StepSync},
			{Kind: StepSSHD, Listen: ":2222", HostKey: "-----BEGIN OPENSSH PRIVATE KEY-----", AuthorizedKey: "ssh-ed25519 AAAA", Target: "/c"},
		}, Workload: Workload{Kind: WorkloadExec, Argv: []string{"true"}, Cwd: "sub"}}, ""},
		{"step errors", Job{Steps: []Step{
			{},
			{Kind: "umount"},
			{Kind: StepMkdir},
			{Kind: StepOverlay, Target: "b"},
			{Kind: StepReceiveTar, Target: "/c"},
			{Kind: StepSSHD, Target: "c"},
		}}, `invalid job: steps[0] (): kind is required
steps[1] (umount): unknown kind "umount" (want mkdir, mount, overlay, receive-tar, net-up, sync, sshd)
steps[2] (mkdir): path is required
steps[3] (overlay): lower is required
steps[3] (overlay): target "b" is not an absolute path
steps[4] (receive-tar): port is required
steps[5] (sshd): listen is required
steps[5] (sshd): host_key is required
steps[5] (sshd): authorized_key is required
steps[5] (sshd): target "c" is not an absolute path`},
		{"modules", Job{Modules: []string{"ok.ko", "kernel/fs/ok.ko", "", "/lib/modules/x.ko", "../x.ko"}},
			`invalid job: modules: "" is not a file name under /lib/modules
modules: "/lib/modules/x.ko" is not a file name under /lib/modules
modules: "../x.ko" is not a file name under /lib/modules`},
		{"read-all without root", Job{Workload: Workload{Kind: WorkloadReadAll}}, "invalid job: workload: root or mountpoint is required"},
		{"read-all with mountpoint", Job{Mountpoint: "/t", Workload: Workload{Kind: WorkloadStatAll}}, ""},
		{"exec errors", Job{Workload: Workload{Kind: WorkloadExec, Cwd: "/abs", Timeout: -1, Readers: -2}},
			`invalid job: workload: argv is required for exec
workload: cwd "/abs" must be relative to the root
workload: negative timeout -1
workload: negative readers -2`},
		{"unknown workload", Job{Workload: Workload{Kind: "grep"}}, `invalid job: workload: unknown kind "grep" (want read-all, stat-all or exec)`},
		{"faults", Job{Fault: FaultKernelPanic}, ""},
		{"unknown fault", Job{Fault: "oops"}, `invalid job: fault: unknown fault "oops"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.job.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Errorf("error:\n got %s\nwant %s", got, tt.err)
			}
		})
	}
}

func TestParseModuleList(t *testing.T) {
	got := ParseModuleList([]byte("# closure of virtio_console\nvirtio_ring.ko\n\n  virtio.ko  \nvirtio_console.ko"))
	want := []string{"virtio_ring.ko", "virtio.ko", "virtio_console.ko"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ParseModuleList(nil); got != nil {
		t.Errorf("empty list: got %q", got)
	}
}
