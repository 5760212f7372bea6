package plan

import (
	"fmt"
	"io"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// GoldenHost is a host probe's findings typed in, the C virtiofsd among them, and for
// daemon: rust the Rust daemon that `vmfsbench tool fetch virtiofsd` fetched, run through its
// own loader; GoldenDirs are a run's directories. Plans made with them read the same on every
// machine: the goldens are.
var (
	GoldenHost = Host{Tree: "/src/tree", Hidden: []string{".git"}, Kernel: "/boot/vmlinuz", Modules: "/lib/modules/6.1.0",
		Tools: method.Found{"virtiofsd": {Path: "/usr/lib/qemu/virtiofsd", Version: "virtiofsd version 7.2.22",
			Detail: method.Virtiofsd{Path: "/usr/lib/qemu/virtiofsd", Flavor: method.FlavorC}},
			"virtiofsd rust": {Path: goldenFetched + "/usr/libexec/virtiofsd", Version: "virtiofsd 1.13.2 (rust)",
				Detail: method.Virtiofsd{Path: goldenFetched + "/usr/libexec/virtiofsd", Flavor: method.FlavorRust, Version: "virtiofsd 1.13.2",
					Loader: []string{goldenFetched + "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "--library-path", goldenFetched + "/usr/lib/x86_64-linux-gnu"},
					Origin: "virtiofsd 1.13.2-1+deb13u1 from Debian trixie, fetched into /cache/vmfsbench/debroot/virtiofsd"}}},
		CanMount: true, Accel: "tcg"}
	GoldenDirs = Dirs{Run: "/runs/demo/20261124-101500", Sockets: "/tmp/vmfsbench.XXXXXX", HostPort: func() int { return PlanHostPort }}
)

// goldenFetched is where GoldenHost's fetched Rust virtiofsd is unpacked.
const goldenFetched = "/cache/vmfsbench/debroot/virtiofsd/root"

// oneCellSpec is the spec of one method's cell: the seed study's exclusions and owner, an
// x86_64 guest, read-all, an empty host cache.
const oneCellSpec = `version: 1
name: one-cell
tree:
  path: /src/tree
  exclude: [.git, build/*, "!build/stage2cross"]
  owner: {uid: 1001, gid: 1001}
guest: {arch: x86_64, mountpoint: /root/llvm-project}
workload: {builtin: read-all}
cache: [empty]
methods:
  - %s: {%s}
`

// WriteOneCell writes the golden of a method: the text plan of a one-cell spec of the
// method with params (a YAML flow map's contents; "" keeps the defaults) on GoldenHost, as
// WriteGolden writes it. Each method's test shows it as an example whose output is the
// golden (`go test ./orchestrator/plan -run PlanGolden -update` rewrites them).
func WriteOneCell(w io.Writer, name, params string) error {
	e, err := spec.Parse("one-cell.yaml", fmt.Appendf(nil, oneCellSpec, name, params))
	if err != nil {
		return err
	}
	cells, err := Expand(e, GoldenHost, GoldenDirs, Choices{})
	if err != nil {
		return err
	}
	WriteGolden(w, e, cells)
	return nil
}

// WriteGolden is WriteText with each cell's parameters that keep their defaults left out of
// its params line: the method's table (and the schema) says those, and a parameter added
// with a default that changes no command changes no golden.
func WriteGolden(w io.Writer, e *spec.Experiment, cells []Cell) {
	writeText(w, e, cells, true)
}
