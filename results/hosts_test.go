package results

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReportNodesDiffer: a group whose cells ran on nodes with different kernels and QEMU
// versions says so next to its numbers and in its statistics; one whose nodes are alike
// does not; --by-host splits each group's statistics by node; a run on one node gets no
// Nodes section unless asked.
func TestReportNodesDiffer(t *testing.T) {
	a := &CellHost{Node: "node-a", CPU: "EPYC", Kernel: "Linux 6.1.0 x86_64", QEMU: "7.2.22", Tools: Tools{"squashfs-tools": "4.5.1"}}
	b := &CellHost{Node: "node-b", CPU: "EPYC", Kernel: "Linux 6.12.0 x86_64", QEMU: "10.0.2", Tools: Tools{"squashfs-tools": "4.5.1"}}
	b2 := &CellHost{Node: "node-b", CPU: "EPYC", Kernel: "Linux 6.1.0 x86_64", QEMU: "7.2.22", Tools: Tools{"squashfs-tools": "4.5.1"}}
	cell := func(id string, h *CellHost, total float64) *Cell {
		return &Cell{ID: id, Group: groupOf(id), Method: strings.SplitN(id, "/", 2)[0], Params: map[string]any{},
			Cache: "asis", Repetition: 1, Status: StatusOK, Phases: map[Phase]float64{"workload": total},
			Total: total, Wall: total + 1, Host: h}
	}
	cells := []*Cell{
		cell("squashfs/asis/r1", a, 10), cell("squashfs/asis/r2", b, 14),
		cell("erofs/asis/r1", a, 11), cell("erofs/asis/r2", b2, 12),
	}
	s := Summarize(cells, nil)
	sq, er := s.Groups[0], s.Groups[1]
	if got := strings.Join(sq.NodesDiffer, ","); got != "kernel,qemu" {
		t.Errorf("squashfs nodes differ in %q, want kernel,qemu", got)
	}
	if len(er.NodesDiffer) != 0 || strings.Join(er.Nodes, ",") != "node-a,node-b" {
		t.Errorf("erofs: nodes %v, differ %v; want node-a,node-b alike", er.Nodes, er.NodesDiffer)
	}
	rep := string(Report(s, ReportInput{Name: "sharded"}))
	for _, want := range []string{
		"| squashfs | 12s (12s workload) [nodes differ: kernel, qemu] |",
		"ran on nodes that differ in kernel, qemu (node-a, node-b); see report --by-host",
		"## Nodes", "The cells ran on 2 nodes that differ in kernel, qemu.",
		"- node-a: `squashfs/asis/r1`, `erofs/asis/r1`",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if strings.Contains(rep, "Statistics by node") {
		t.Error("report has the by-node statistics without ByHost")
	}
	byHost := string(Report(s, ReportInput{Name: "sharded", ByHost: true}))
	for _, want := range []string{
		"## Statistics by node",
		"| `squashfs/asis` | node-a | 1/1 | 10s | 10s | 10s | 11s |",
		"| `squashfs/asis` | node-b | 1/1 | 14s | 14s | 14s | 15s |",
	} {
		if !strings.Contains(byHost, want) {
			t.Errorf("--by-host report lacks %q:\n%s", want, byHost)
		}
	}

	one := Summarize([]*Cell{cell("squashfs/asis/r1", a, 10), cell("squashfs/asis/r2", a, 11)}, nil)
	if rep := string(Report(one, ReportInput{Name: "one"})); strings.Contains(rep, "## Nodes") || strings.Contains(rep, "differ") {
		t.Errorf("a one-node run's report speaks of nodes:\n%s", rep)
	}
}

// TestSchemaCellHost: a cell that records its node, and a summary whose groups name their
// nodes, are valid results.
func TestSchemaCellHost(t *testing.T) {
	h := &CellHost{Node: "n1", CPU: "EPYC", Kernel: "Linux 6.1.0 x86_64", QEMU: "7.2.22", Tools: Tools{"e2fsprogs": "1.47.0"}}
	c := &Cell{ID: "ext4/asis/r1", Group: "ext4/asis", Method: "ext4", Params: map[string]any{}, Cache: "asis",
		Repetition: 1, Status: StatusOK, Phases: map[Phase]float64{"workload": 1}, Total: 1, Wall: 2, Accel: "tcg", Host: h}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateBytes(t, compileResultSchema(t, "cell"), data); err != nil {
		t.Errorf("cell with host: %v", err)
	}
	c2 := *c
	c2.ID, c2.Host = "ext4/asis/r2", &CellHost{Node: "n2", CPU: "EPYC", Kernel: "Linux 6.12.0 x86_64", QEMU: "7.2.22"}
	s := Summarize([]*Cell{c, &c2}, nil)
	if data, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	if err := validateBytes(t, compileResultSchema(t, "summary"), data); err != nil {
		t.Errorf("summary with nodes: %v", err)
	}
}

// TestCSVCellHost: a cell's CSV rows carry its own node's CPU, kernel and tool versions, not
// those of run.json (written by the first shard, maybe on another node).
func TestCSVCellHost(t *testing.T) {
	m := &Meta{Spec: "s", Host: Host{Name: "node-a", CPU: "EPYC", Cores: 2, Kernel: "Linux 6.1.0 x86_64"}, Tools: Tools{"qemu": "7.2.22"}}
	c := &Cell{ID: "ext4/asis/r1", Group: "ext4/asis", Method: "ext4", Cache: "asis", Repetition: 1, Status: StatusOK,
		Host: &CellHost{Node: "node-b", CPU: "Xeon", Kernel: "Linux 6.12.0 x86_64", QEMU: "10.0.2"}}
	for name, f := range map[string]func() ([]byte, error){
		"cell":    func() ([]byte, error) { return CellCSV(c, m) },
		"summary": func() ([]byte, error) { return SummaryCSV(Summarize([]*Cell{c}, m)) },
	} {
		data, err := f()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if !strings.Contains(lines[1], "Xeon") || !strings.Contains(lines[1], "Linux 6.12.0") || !strings.Contains(lines[1], "10.0.2") || strings.Contains(lines[1], "EPYC") {
			t.Errorf("%s CSV row does not carry the cell's node:\n%s", name, data)
		}
	}
}
