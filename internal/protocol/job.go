package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Paths inside the initramfs and names shared by host and guest.
const (
	// JobPath is where the host packs the job in the initramfs.
	JobPath = "/vmfsbench/job.json"
	// ModulesListPath holds the module file names, one per line in load order; the agent
	// reads it when Job.Modules is empty.
	ModulesListPath = "/vmfsbench/modules"
	// ModulesDir is the directory the module files named in the job are loaded from.
	ModulesDir = "/lib/modules"
	// ControlPort is the name of the virtio-serial port that carries the events
	// (QEMU: -device virtserialport,name=ctl).
	ControlPort = "ctl"
)

// Step kinds. Loading the modules is not a step: the agent always does it first.
const (
	StepMkdir      = "mkdir"
	StepMount      = "mount"
	StepOverlay    = "overlay"
	StepReceiveTar = "receive-tar"
	StepNetUp      = "net-up"
	StepSync       = "sync"
	StepSSHD       = "sshd"
)

// Workload kinds. An empty Workload.Kind runs no workload: the job only runs its steps.
const (
	WorkloadReadAll = "read-all"
	WorkloadStatAll = "stat-all"
	WorkloadExec    = "exec"
)

// Faults, a test hook for the host's failure tests: with Job.Fault set, the agent misbehaves
// on purpose right after it has sent "ready" and opened the control port.
const (
	// FaultPanic makes the agent panic; it must report an "error" event and no "done".
	FaultPanic = "panic"
	// FaultHang makes the agent block forever without reporting "done".
	FaultHang = "hang"
	// FaultKernelPanic makes the agent crash the guest kernel through /proc/sysrq-trigger.
	// The agent honours it only as PID 1.
	FaultKernelPanic = "kernel-panic"
)

// Job is everything the agent does in one boot: load modules, run the steps in order, run the
// workload. The host writes it to JobPath.
type Job struct {
	// Cell is the ID of the cell the job belongs to, echoed in the logs.
	Cell string `json:"cell"`
	// Modules are file names under ModulesDir in load order. When empty the agent reads
	// ModulesListPath instead.
	Modules []string `json:"modules,omitempty"`
	// Steps run in order after the modules are loaded; the first failure ends the job.
	Steps []Step `json:"steps,omitempty"`
	// Workload runs after the steps.
	Workload Workload `json:"workload"`
	// Mountpoint is where the tree appears in the guest (inside Workload.Chroot if set). It
	// is the default Workload.Root.
	Mountpoint string `json:"mountpoint,omitempty"`
	// Verify, when set, makes the agent check after a successful workload how the tree is
	// presented (owners, writability) and report it in a "verify" event.
	Verify *Verify `json:"verify,omitempty"`
	// Fault is a test hook: one of FaultPanic, FaultHang, FaultKernelPanic, or "" for a
	// normal run.
	Fault string `json:"fault,omitempty"`
}

// Step is one thing the agent does before the workload. Kind selects which fields apply:
//
//   - "mkdir": Path, Mode (default 0755); parents are created too.
//   - "mount": Source, Target, FSType, Options, ReadOnly. Target is created if missing.
//     Options is the comma-separated list mount(8) takes: the generic flags (ro, rw,
//     noatime, nodiratime, relatime, strictatime, nosuid, nodev, noexec, sync, dirsync, bind,
//     rbind)
//     become mount flags and the rest is passed to the filesystem. With DAX the agent
//     waits for Source to appear (a pmem namespace shows up asynchronously), and after
//     mounting fails the step unless /proc/self/mountinfo shows DAX on for Target (erofs
//     silently turns it off on a device without DAX).
//   - "overlay": Lower (colon-separated, top first), Target, Upper, Work, UpperDevice,
//     Options. The agent mounts a scratch filesystem for the writable layer: a fresh tmpfs,
//     or UpperDevice mounted as ext4 (the host made the filesystem; the guest never runs
//     mkfs). Upper and Work default to "upper" and "work"; relative values are inside the
//     scratch filesystem. The upper directory takes the owner and mode of the top lower
//     directory so the merged root looks like the tree's root. Options are appended to the
//     overlay mount options. Hide lists lower paths to cover with whiteouts.
//   - "receive-tar": Port, Target. Extracts the tar stream read from the virtio-serial port
//     named Port into Target, keeping modes, owners, symlinks, hard links and mtimes. The
//     stream ends at the tar end-of-archive marker; the host may keep the port open or close
//     it after. The host side of the port must be connected before the step reads: a
//     virtio-serial read with nothing connected on the host returns end-of-file at once.
//     The step-end event reports files (hard links included), symlinks and content bytes.
//   - "net-up": Interface (default eth0), Address (default 10.0.2.15/24), Gateway (default
//     10.0.2.2; "none" for no default route). Also brings up lo.
//   - "sync": sync(2).
//   - "sshd": Listen, HostKey, AuthorizedKey, Cipher, Target. Serves SSH on the TCP address
//     Listen (":2222") with the private host key HostKey (OpenSSH PEM), accepting only the
//     public key AuthorizedKey (one authorized_keys line) and no password or interactive
//     authentication; Cipher, when set, is the only cipher offered. It waits for one session
//     that execs exactly `tar -x -C TARGET` (TARGET may be single-quoted) with TARGET equal to
//     Target, extracts the session's stdin there as "receive-tar" does, reports the exit
//     status (0, or 1 with the error on stderr) and ends. Connections that fail before such a
//     session (a port probe, a wrong key) are dropped and the step keeps waiting. The
//     step-end event reports what "receive-tar" reports.
type Step struct {
	Kind string `json:"kind"`
	// Name labels the step's events; empty means "<index>:<kind>", index counting from 1.
	Name string `json:"name,omitempty"`

	Path string `json:"path,omitempty"`
	Mode uint32 `json:"mode,omitempty"`

	Source   string `json:"source,omitempty"`
	Target   string `json:"target,omitempty"`
	FSType   string `json:"fstype,omitempty"`
	Options  string `json:"options,omitempty"`
	ReadOnly bool   `json:"readonly,omitempty"`
	DAX      bool   `json:"dax,omitempty"`

	Lower       string `json:"lower,omitempty"`
	Upper       string `json:"upper,omitempty"`
	Work        string `json:"work,omitempty"`
	UpperDevice string `json:"upper_device,omitempty"`

	Port string `json:"port,omitempty"`

	// Hide lists paths, relative to the lower root, that the overlay hides with whiteouts:
	// the excluded paths of a share that exports the whole tree.
	Hide []string `json:"hide,omitempty"`

	Interface string `json:"interface,omitempty"`
	Address   string `json:"address,omitempty"`
	Gateway   string `json:"gateway,omitempty"`

	Listen        string `json:"listen,omitempty"`
	HostKey       string `json:"host_key,omitempty"`
	AuthorizedKey string `json:"authorized_key,omitempty"`
	Cipher        string `json:"cipher,omitempty"`
}

// Label returns the name the events of the i-th step (counting from 0) carry.
func (s Step) Label(i int) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("%d:%s", i+1, s.Kind)
}

// Verify says what the post-workload check looks at.
type Verify struct {
	// Lower is a read-only lower layer (under an overlay) that a write must fail in; "" for
	// methods without one.
	Lower string `json:"lower,omitempty"`
}

// VerifyResult is what the check found.
type VerifyResult struct {
	// Owners counts the tree's entries by "uid:gid".
	Owners map[string]int64 `json:"owners"`
	// WriteError is the error of creating, writing and removing a file at the tree's root;
	// "" means the tree is writable.
	WriteError string `json:"write_error"`
	// LowerWriteError is the error of creating a file in Verify.Lower; "" means the write
	// succeeded, which it must not.
	LowerWriteError string `json:"lower_write_error,omitempty"`
}

// Workload is what the benchmark measures.
type Workload struct {
	// Kind is one of WorkloadReadAll, WorkloadStatAll, WorkloadExec, or "" for none.
	Kind string `json:"kind,omitempty"`
	// Root is the tree the workload works on; empty means Job.Mountpoint. For exec with
	// Chroot set, Root is a path inside the chroot.
	Root string `json:"root,omitempty"`
	// Argv is the command exec runs. A name without a slash is looked up in the PATH of
	// Env (inside the chroot), or in a default PATH.
	Argv []string `json:"argv,omitempty"`
	// Cwd is the exec working directory, relative to Root.
	Cwd string `json:"cwd,omitempty"`
	// Env is the complete environment of the exec command.
	Env []string `json:"env,omitempty"`
	// UID and GID are the credentials exec runs with; 0 is root.
	UID int `json:"uid,omitempty"`
	GID int `json:"gid,omitempty"`
	// Chroot is the directory exec chroots into before changing to Root/Cwd; "" for none.
	Chroot string `json:"chroot,omitempty"`
	// Timeout in seconds bounds the workload (0: no bound); the host enforces its own too.
	Timeout float64 `json:"timeout,omitempty"`
	// Readers is how many files read-all reads in parallel; 0 picks 2*GOMAXPROCS.
	Readers int `json:"readers,omitempty"`
	// LitReport is where the exec command (llvm-lit, run with -o LitReport) writes lit's JSON
	// report, relative to Cwd; "" for none. After the command ends, whatever its status, the
	// agent reads it and sends every test's name, result code and time in Result.Tests,
	// leaving out each test's output.
	LitReport string `json:"lit_report,omitempty"`
}

// DecodeJob reads one job from r. Unknown fields, trailing data and invalid jobs (see
// Validate) are errors.
func DecodeJob(r io.Reader) (*Job, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("decoding job: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decoding job: data after the job object")
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return &j, nil
}

// ParseModuleList parses the contents of ModulesListPath: one file name per line; blank lines
// and lines starting with # are skipped.
func ParseModuleList(data []byte) []string {
	var mods []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mods = append(mods, line)
	}
	return mods
}

// Validate reports every problem of the job, one per line, or nil.
func (j *Job) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, m := range j.Modules {
		if m == "" || path.IsAbs(m) || strings.Contains("/"+m+"/", "/../") {
			bad("modules: %q is not a file name under %s", m, ModulesDir)
		}
	}
	for i, s := range j.Steps {
		where := fmt.Sprintf("steps[%d] (%s)", i, s.Kind)
		need := func(field, v string) {
			if v == "" {
				bad("%s: %s is required", where, field)
			}
		}
		abs := func(field, v string) {
			if v != "" && !path.IsAbs(v) {
				bad("%s: %s %q is not an absolute path", where, field, v)
			}
		}
		switch s.Kind {
		case StepMkdir:
			need("path", s.Path)
			abs("path", s.Path)
		case StepMount:
			need("target", s.Target)
			need("fstype", s.FSType)
			abs("target", s.Target)
		case StepOverlay:
			need("lower", s.Lower)
			need("target", s.Target)
			abs("target", s.Target)
		case StepReceiveTar:
			need("port", s.Port)
			need("target", s.Target)
			abs("target", s.Target)
		case StepSSHD:
			need("listen", s.Listen)
			need("host_key", s.HostKey)
			need("authorized_key", s.AuthorizedKey)
			need("target", s.Target)
			abs("target", s.Target)
		case StepNetUp, StepSync:
		case "":
			bad("%s: kind is required", where)
		default:
			bad("%s: unknown kind %q (want %s)", where, s.Kind,
				strings.Join([]string{StepMkdir, StepMount, StepOverlay, StepReceiveTar, StepNetUp, StepSync, StepSSHD}, ", "))
		}
	}
	w := j.Workload
	switch w.Kind {
	case "":
	case WorkloadReadAll, WorkloadStatAll:
		if w.Root == "" && j.Mountpoint == "" {
			bad("workload: root or mountpoint is required")
		}
	case WorkloadExec:
		if len(w.Argv) == 0 || w.Argv[0] == "" {
			bad("workload: argv is required for exec")
		}
		if path.IsAbs(w.Cwd) {
			bad("workload: cwd %q must be relative to the root", w.Cwd)
		}
	default:
		bad("workload: unknown kind %q (want %s, %s or %s)", w.Kind, WorkloadReadAll, WorkloadStatAll, WorkloadExec)
	}
	if w.Timeout < 0 {
		bad("workload: negative timeout %v", w.Timeout)
	}
	if w.Readers < 0 {
		bad("workload: negative readers %d", w.Readers)
	}
	switch j.Fault {
	case "", FaultPanic, FaultHang, FaultKernelPanic:
	default:
		bad("fault: unknown fault %q", j.Fault)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid job: %w", errors.Join(errs...))
}
