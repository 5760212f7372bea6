package results

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// NotFound is the version recorded for a tool that is not installed.
const NotFound = "not found"

// RunMetaFile is the name of the run metadata file in a run directory.
const RunMetaFile = "run.json"

// SpecFile is the name of the copy of the spec in a run directory.
const SpecFile = "spec.yaml"

// Meta describes the run as a whole: where it ran, with which tools, and on which spec. It is
// written as run.json, and its fields are repeated as columns of every CSV row.
type Meta struct {
	Spec        string    `json:"spec"`                // the spec's name
	SpecFile    string    `json:"spec_file,omitempty"` // the spec given to `vmfsbench run`, absolute
	SpecSHA256  string    `json:"spec_sha256"`         // of the run directory's spec.yaml
	Reference   string    `json:"reference,omitempty"` // the spec's reference CSV, absolute
	Host        Host      `json:"host"`
	Tools       Tools     `json:"tools"`
	Accel       string    `json:"accel"`
	AccelReason string    `json:"accel_reason"`
	GuestArch   string    `json:"guest_arch"`
	GuestKernel string    `json:"guest_kernel"`
	Version     string    `json:"vmfsbench_version"`
	Commit      string    `json:"vmfsbench_commit"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end,omitzero"` // zero while the run goes on
	// Scale is the workload's scale (workload.scale), "" when the spec has no scales.
	Scale string `json:"scale,omitempty"`
	// Only is the run's --only glob, which --resume keeps unless given another.
	Only string `json:"only,omitempty"`
	// Tree is the fingerprint of the tree taken when the run started (its full form is the
	// run directory's tree.fingerprint.gz); every cell was checked against it.
	Tree *TreeStamp `json:"tree,omitempty"`
	// TreeChanges are the changes of the tree that a resume took with --accept-tree-change:
	// the cells run after one measured another tree than those before.
	TreeChanges []TreeChange `json:"tree_changes,omitempty"`
	// AccelProbe is the QEMU command of the guest that accel: auto booted to try KVM, when
	// this run booted one.
	AccelProbe []string `json:"accel_probe,omitempty"`
}

// TreeStamp names a fingerprint of the tree: a host-side walk of path, size, times, mode,
// owner and link target of every entry after the exclusions.
type TreeStamp struct {
	Fingerprint string `json:"fingerprint"` // its stable SHA-256, hex
	Entries     int    `json:"entries"`
}

// TreeChange is a change of the tree that a resume accepted.
type TreeChange struct {
	Time  time.Time `json:"time"`
	From  string    `json:"from"`  // the fingerprint before
	To    string    `json:"to"`    // the fingerprint the later cells were checked against
	Paths int       `json:"paths"` // how many paths changed
	Brief string    `json:"brief"` // the first of them
}

// Host is the machine the run ran on.
type Host struct {
	Name        string `json:"name,omitempty"` // the host name
	CPU         string `json:"cpu"`            // model name from /proc/cpuinfo
	Cores       int    `json:"cores"`          // logical CPUs
	MemoryBytes int64  `json:"memory"`         // MemTotal
	Kernel      string `json:"kernel"`         // uname -srm
	// OS is the system vmfsbench runs in (/etc/os-release's PRETTY_NAME): CI's lanes differ
	// in it, "Debian GNU/Linux 12 (bookworm)" or the Debian 13 stack's trixie root.
	OS string `json:"os,omitempty"`
}

// Tools are the versions of the host programs a run used, by name ("qemu", "e2fsprogs",
// "virtiofsd", ...), each NotFound when absent.
type Tools map[string]string

// MetaOptions is what CollectMeta cannot find out by itself.
type MetaOptions struct {
	Dir       string // the run directory; its spec.yaml is hashed
	Spec      string // the spec's name
	SpecFile  string // the spec file given to run
	Reference string // the spec's reference CSV, if any
	Arch      string // the guest arch
	// Tools are the versions of the host tools of the spec's methods, as the host probe found
	// them (the qemu version is asked here).
	Tools       Tools
	Accel       string
	AccelReason string
	GuestKernel string // the guest kernel's release
	Scale       string // the workload's scale
}

// CollectMeta gathers the run's metadata with Start set to now. Absent tools are NotFound; the
// only error is a spec.yaml that cannot be read.
func CollectMeta(ctx context.Context, o MetaOptions) (*Meta, error) {
	sum, err := hashFile(filepath.Join(o.Dir, SpecFile))
	if err != nil {
		return nil, err
	}
	m := &Meta{
		Spec: o.Spec, SpecSHA256: sum, SpecFile: absOrEmpty(o.SpecFile), Reference: absOrEmpty(o.Reference),
		Host: hostInfo(), Accel: o.Accel, AccelReason: o.AccelReason,
		GuestArch: o.Arch, GuestKernel: o.GuestKernel, Scale: o.Scale, Start: time.Now().UTC(),
	}
	m.Version, m.Commit = buildVersion(ctx)
	m.Tools = Tools{}
	for name, v := range o.Tools {
		m.Tools[name] = v
	}
	return m, nil
}

func absOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// WriteRunMeta writes m as DIR/run.json, atomically.
func WriteRunMeta(dir string, m *Meta) error {
	return WriteJSON(filepath.Join(dir, RunMetaFile), m)
}

// ReadRunMeta reads DIR/run.json. A missing file is an error wrapping fs.ErrNotExist.
func ReadRunMeta(dir string) (*Meta, error) {
	path := filepath.Join(dir, RunMetaFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// SpecHash returns the spec hash a run started with: the one recorded in DIR/run.json, or,
// for a run without run.json, the sha256 of DIR/spec.yaml.
func SpecHash(dir string) (string, error) {
	m, err := ReadRunMeta(dir)
	if err == nil && m.SpecSHA256 != "" {
		return m.SpecSHA256, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return hashFile(filepath.Join(dir, SpecFile))
}

// HashSpec is the spec hash of spec bytes: hex sha256.
func HashSpec(spec []byte) string {
	s := sha256.Sum256(spec)
	return hex.EncodeToString(s[:])
}

// CheckSpecHash fails when spec, the spec a resumed run would use, differs from the one the
// run in dir started with.
func CheckSpecHash(dir string, spec []byte) error {
	was, err := SpecHash(dir)
	if err != nil {
		return fmt.Errorf("resume %s: %w", dir, err)
	}
	if now := HashSpec(spec); now != was {
		where := filepath.Join(dir, RunMetaFile)
		if _, err := os.Stat(where); err != nil {
			where = filepath.Join(dir, SpecFile)
		}
		return fmt.Errorf("spec changed since the run started: hash %s in %s, %s now; start a new run", was, where, now)
	}
	return nil
}

func hashFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("hash spec: %w", err)
	}
	return HashSpec(data), nil
}

// hostInfo reads the CPU model and count from /proc/cpuinfo, memory from /proc/meminfo and
// the kernel from uname.
func hostInfo() Host {
	h := Host{CPU: "unknown"}
	h.Name, _ = os.Hostname()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		h.CPU, h.Cores = parseCPUInfo(data)
	}
	if h.Cores == 0 {
		h.Cores = runtime.NumCPU()
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.MemoryBytes = parseMemTotal(data)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		h.Kernel = strings.Join([]string{unix.ByteSliceToString(u.Sysname[:]),
			unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Machine[:])}, " ")
	}
	h.OS = osName()
	return h
}

// osName is /etc/os-release's PRETTY_NAME, "" when there is none.
func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// parseCPUInfo returns the first model name (or, on arm64 and riscv64, whatever names the
// CPU) and the number of processors.
func parseCPUInfo(data []byte) (model string, n int) {
	model = "unknown"
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			n++
		case "model name", "Model", "uarch", "CPU part":
			if model == "unknown" && v != "" {
				model = v
			}
		}
	}
	return model, n
}

// parseMemTotal returns MemTotal from /proc/meminfo in bytes.
func parseMemTotal(data []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kib, _ := strconv.ParseInt(f[1], 10, 64)
			return kib * 1024
		}
	}
	return 0
}

// runQuiet runs a short query command and returns its combined output, whatever its exit
// status (mke2fs -V and mkfs.erofs exit non-zero after printing their version).
func runQuiet(ctx context.Context, dir, bin string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// modulePath is the main module's path, for finding its checkout when the binary carries no
// VCS stamp (go run, go test).
const modulePath = "github.com/vmfsbench/vmfsbench"

// buildVersion returns vmfsbench's version and git commit: from the build info stamped by
// `go build` in a checkout, or else from `git rev-parse HEAD` in the checkout that holds the
// current directory, when that is vmfsbench's. A modified tree gets a "+dirty" suffix.
func buildVersion(ctx context.Context) (version, commit string) {
	version, commit = "devel", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if modified == "true" {
				rev += "+dirty"
			}
			return version, rev
		}
	}
	root := moduleRoot()
	if root == "" {
		return version, commit
	}
	if _, err := exec.LookPath("git"); err != nil {
		return version, commit
	}
	rev := strings.TrimSpace(runQuiet(ctx, root, "git", "rev-parse", "HEAD"))
	if len(rev) != 40 {
		return version, commit
	}
	if st := strings.TrimSpace(runQuiet(ctx, root, "git", "status", "--porcelain", "--untracked-files=no")); st != "" {
		rev += "+dirty"
	}
	return version, rev
}

// moduleRoot walks up from the current directory to the go.mod of vmfsbench's module.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			first, _, _ := strings.Cut(string(data), "\n")
			if strings.TrimSpace(first) == "module "+modulePath {
				return dir
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
