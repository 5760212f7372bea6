// Package spec loads, defaults and validates a vmfsbench experiment spec (YAML, version 1)
// into an Experiment. Loading never touches the tree or QEMU; every problem of a file is
// reported at once, each as `file:line:col: field: message`.
package spec

import (
	"github.com/vmfsbench/vmfsbench/orchestrator/param"

	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// Experiment is a loaded, defaulted and validated spec.
type Experiment struct {
	File        string // the spec file as given
	Dir         string // absolute directory of the spec file; relative paths resolve here
	Version     int
	Name        string
	Description string
	Tree        Tree
	Guest       Guest
	QEMU        QEMU
	Workload    Workload
	Cache       []string // host page-cache states: empty, warm, asis
	Repetitions int
	Order       string // interleaved or grouped
	Methods     []MethodEntry
	Reference   string // absolute path of a reference CSV, or ""
}

// Tree says where the tree comes from and how it is presented.
type Tree struct {
	Path       string     // absolute path of a host tree, or "" when Synthetic is set
	Synthetic  *Synthetic // a generated tree, or nil
	Exclude    []string   // gitignore-style rules, later wins
	Owner      *Owner     // how files appear in the guest; nil = as on the host
	ExcludePos []Pos      // position of each rule, for error messages
}

// Synthetic describes a generated LLVM-like tree. Scale has already multiplied Files, Bytes
// and LitTests.
type Synthetic struct {
	Files    int
	Bytes    int64
	Seed     int64
	LitTests int // an LLVM-shaped lit suite in build/stage2cross/test; 0 = none
	Scale    int // the multiplier the spec gave (1 if none)
}

// Tree returns the generator's parameters.
func (s *Synthetic) Tree() synthetic.Tree {
	return synthetic.Tree{Files: s.Files, Bytes: s.Bytes, Seed: s.Seed, LitTests: s.LitTests}
}

// RootfsBuilt as guest.rootfs names the image `vmfsbench rootfs build` made for the arch.
const RootfsBuilt = "built"

// Owner is a uid:gid pair.
type Owner = tree.Owner

// Guest describes the VM's software and where the tree appears in it.
type Guest struct {
	Arch       string            // x86_64, aarch64 or riscv64
	Kernel     string            // absolute path, or "" for the fetched kernel
	Modules    string            // the kernel's lib/modules/<version> directory, or ""
	Rootfs     string            // ext4 image to chroot into, RootfsBuilt, or ""
	Mountpoint string            // absolute guest path of the tree
	User       *Owner            // the workload's user; nil = root
	Files      map[string]string // guest path -> host path, packed into the initramfs
}

// QEMU configures the virtual machine.
type QEMU struct {
	Binary      string // "" = qemu-system-<arch>
	Machine     string // "" = the arch's default
	CPUs        int
	Memory      int64  // bytes
	Accel       string // auto, kvm or tcg
	Args        []string
	BootTimeout time.Duration
}

// Workload is what runs in the guest once the tree is there.
type Workload struct {
	Builtin string            // read-all or stat-all, or "" when Command is set
	Command []string          // argv run in the guest
	Cwd     string            // relative to the mountpoint
	Env     map[string]string // extra environment
	Timeout time.Duration
	// OutputCap is how many bytes of the guest's output a cell keeps, in output.log and
	// again in events.jsonl: the first and the last half of it, the cut noted in the file
	// and in the cell's warnings.
	OutputCap int64
	// Scale is the name of the workload's chosen scale (workload.scale, default the first of
	// Scales), "" when the spec has none; Command and Timeout are already that scale's.
	Scale  string
	Scales []Scale // the spec's named variants of the workload, in its order
}

// Scale is a named size of the workload (smoke, study, ...): the command and timeout it
// runs with instead of the workload's own.
type Scale struct {
	Name    string
	Command []string      // nil keeps workload.command
	Timeout time.Duration // 0 keeps workload.timeout
}

// MethodEntry is one item of the spec's `methods:` list.
type MethodEntry struct {
	Method string
	Params []Param // every parameter of the method, in table order, defaults filled in
	Pos    Pos
}

// Param is one method parameter with the value(s) it takes. More than one value sweeps it.
type Param struct {
	Def    param.Def
	Values []any // int64 or string
	Given  bool  // written in the spec (it then appears in cell IDs)
	Pos    Pos
}

// Swept reports whether the parameter takes more than one value.
func (p Param) Swept() bool { return len(p.Values) > 1 }
