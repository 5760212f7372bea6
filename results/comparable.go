package results

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Unreadable lists, one line each, the cell files of the run in dir (summarized as s) that
// could not be read: their cells are missing from any comparison.
func Unreadable(dir string, s *Summary) []string {
	var out []string
	for _, f := range s.Skipped {
		out = append(out, fmt.Sprintf("%s: unreadable cell file, left out: %s", dir, f))
	}
	return out
}

// Incomparable says, one line each, why the runs in dirA and dirB (summarized as a and b)
// may not measure the same thing: different specs (by hash), different workloads (the
// workload section of each run's spec.yaml) or different tree digests (those the cells'
// read-all workloads found). What a run does not record is not compared.
func Incomparable(dirA, dirB string, a, b *Summary) []string {
	var out []string
	ha, hb := specHashOf(dirA, a), specHashOf(dirB, b)
	if ha != "" && hb != "" && ha != hb {
		out = append(out, fmt.Sprintf("the runs have different specs: spec hash %s in %s, %s in %s", short(ha), dirA, short(hb), dirB))
	}
	wa, okA := workloadOf(dirA)
	wb, okB := workloadOf(dirB)
	if okA && okB && wa != wb {
		out = append(out, fmt.Sprintf("the runs have different workloads: %s in %s, %s in %s", wa, dirA, wb, dirB))
	}
	da, db := digestsOf(a), digestsOf(b)
	if len(da) > 0 && len(db) > 0 && !slices.Equal(da, db) {
		out = append(out, fmt.Sprintf("the runs read different trees: tree digest %s in %s, %s in %s", shortAll(da), dirA, shortAll(db), dirB))
	}
	return out
}

// specHashOf is the hash of the spec the run started with, or "" when it does not say.
func specHashOf(dir string, s *Summary) string {
	if s.Meta != nil && s.Meta.SpecSHA256 != "" {
		return s.Meta.SpecSHA256
	}
	h, err := SpecHash(dir)
	if err != nil {
		return ""
	}
	return h
}

// workloadOf is the workload section of dir/spec.yaml on one line, "(default)" when the spec
// has none; false when the run has no readable spec.yaml.
func workloadOf(dir string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if err != nil {
		return "", false
	}
	var doc struct {
		Workload any `yaml:"workload"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", false
	}
	if doc.Workload == nil {
		return "(default)", true
	}
	// Flow style on one line: {command: [...], timeout: 5s}.
	var n yaml.Node
	if err := n.Encode(doc.Workload); err != nil {
		return "", false
	}
	flow(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func flow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		flow(c)
	}
}

// digestsOf is the sorted set of tree digests the run's cells report.
func digestsOf(s *Summary) []string {
	var out []string
	for _, c := range s.Cells {
		if c.Digest != "" && !slices.Contains(out, c.Digest) {
			out = append(out, c.Digest)
		}
	}
	slices.Sort(out)
	return out
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func shortAll(hs []string) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = short(h)
	}
	return strings.Join(s, "+")
}
