package tree

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestDigestTreeByHand(t *testing.T) {
	root := makeTree(t, map[string]string{
		"a.c":                 "int main;\n",
		"a-b":                 "dash",
		"a/b":                 "bee",
		"a/c/d":               "",
		"b":                   "-> a/b",
		"dangling":            "-> nowhere/at/all",
		"empty/":              "",
		"z/.git/HEAD":         "ref: refs/heads/main\n",
		"build/stage1/x":      "excluded",
		"build/stage2cross/y": "why",
	})
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileLine := func(rel, content string) string {
		sum := sha256.Sum256([]byte(content))
		return rel + "\x00" + strconv.Itoa(len(content)) + "\x00" + hex.EncodeToString(sum[:]) + "\n"
	}
	linkLine := func(rel, target string) string { return rel + "\x00link\x00" + target + "\n" }
	digest := func(lines ...string) string {
		sum := sha256.Sum256([]byte(strings.Join(lines, "")))
		return hex.EncodeToString(sum[:])
	}
	seed, err := NewMatcher(seedRules)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		m    *Matcher
		want Summary
	}{
		{"seed rules", seed, Summary{Files: 5, Symlinks: 2, Bytes: 10 + 4 + 3 + 0 + 3, Digest: digest(
			// In byte order, written out by hand: '-' < '.' < '/'.
			fileLine("a-b", "dash"),
			fileLine("a.c", "int main;\n"),
			fileLine("a/b", "bee"),
			fileLine("a/c/d", ""),
			linkLine("b", "a/b"),
			fileLine("build/stage2cross/y", "why"),
			linkLine("dangling", "nowhere/at/all"),
		)}},
		{"no rules", nil, Summary{Files: 7, Symlinks: 2, Bytes: 10 + 4 + 3 + 0 + 8 + 3 + 21, Digest: digest(
			fileLine("a-b", "dash"),
			fileLine("a.c", "int main;\n"),
			fileLine("a/b", "bee"),
			fileLine("a/c/d", ""),
			linkLine("b", "a/b"),
			fileLine("build/stage1/x", "excluded"),
			fileLine("build/stage2cross/y", "why"),
			linkLine("dangling", "nowhere/at/all"),
			fileLine("z/.git/HEAD", "ref: refs/heads/main\n"),
		)}},
	}
	for _, c := range cases {
		got, err := DigestTree(context.Background(), root, c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: DigestTree = %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestDigestTreeErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := makeTree(t, map[string]string{"x": "x"})
	if _, err := DigestTree(ctx, root, nil); err == nil {
		t.Error("DigestTree with a cancelled context succeeded")
	}
	missing := filepath.Join(root, "missing")
	if _, err := DigestTree(context.Background(), missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("DigestTree of a missing root = %v, want an error naming it", err)
	}
}

// goldenSynthetic is the tree whose digest testdata/synthetic.golden pins: a change there
// means the generator (or the digest) changed, and then syntheticVersion must change too.
var goldenSynthetic = synthetic.Tree{Files: 600, Bytes: 3 << 20, Seed: 7}

func TestDigestSyntheticGolden(t *testing.T) {
	dir, err := synthetic.Ensure(context.Background(), t.TempDir(), goldenSynthetic)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := NewMatcher(seedRules)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range []struct {
		name string
		m    *Matcher
	}{{"all", nil}, {"seed-rules", seed}} {
		sum, err := DigestTree(context.Background(), dir, c.m)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(sum)
		b.WriteString(goldenSynthetic.Key() + " " + c.name + " " + string(line) + "\n")
	}
	golden := filepath.Join("testdata", "synthetic.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("synthetic digests changed (bump syntheticVersion, then go test -update):\n got %s\nwant %s", b.String(), want)
	}
}
