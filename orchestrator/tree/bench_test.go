//go:build linux

package tree

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
)

// benchSynthetic is the tree of the digest benchmark: many files, little data, so the
// figures show what the walk and digest cost per file.
var benchSynthetic = synthetic.Tree{Files: 100_000, Bytes: 192 << 20, Seed: 1}

// benchTree returns the benchmark tree, generated on first use in a cache that survives runs.
// A child process generates it: a child started by vfork reports the parent's peak RSS as its
// own Maxrss when that is higher, so the parent must never hold the generator's memory.
func benchTree(b *testing.B) string { return benchTreeOf(b, benchSynthetic) }

// benchTreeOf is benchTree for the synthetic tree s.
func benchTreeOf(b *testing.B, s synthetic.Tree) string {
	b.Helper()
	cache := filepath.Join(os.TempDir(), "vmfsbench-bench")
	dir := filepath.Join(cache, "trees", s.Key())
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	start := time.Now()
	spec, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGenerateHelperProcess$")
	cmd.Env = append(os.Environ(), generateHelperEnv+"="+cache, generateHelperSpecEnv+"="+string(spec))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("generating %s: %v\n%s", dir, err, out)
	}
	b.Logf("generated %s in %v", dir, time.Since(start).Round(time.Millisecond))
	return dir
}

const (
	generateHelperEnv     = "VMFSBENCH_GENERATE_HELPER_CACHE"
	generateHelperSpecEnv = "VMFSBENCH_GENERATE_HELPER_SPEC" // the synthetic.Tree, as JSON
)

// TestGenerateHelperProcess is not a test: benchTree runs the test binary again with
// generateHelperEnv set to make the benchmark tree in that cache directory.
func TestGenerateHelperProcess(t *testing.T) {
	cache := os.Getenv(generateHelperEnv)
	if cache == "" {
		return
	}
	s := benchSynthetic
	if err := json.Unmarshal([]byte(os.Getenv(generateHelperSpecEnv)), &s); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	if _, err := synthetic.Ensure(context.Background(), cache, s); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

const digestHelperEnv = "VMFSBENCH_DIGEST_HELPER_ROOT"

// TestDigestHelperProcess is not a test: BenchmarkDigest100k runs the test binary again with
// digestHelperEnv set, and this then digests the tree and exits, so the child's peak RSS is the
// digest's alone (the os/exec tests' helper-process pattern).
func TestDigestHelperProcess(t *testing.T) {
	root := os.Getenv(digestHelperEnv)
	if root == "" {
		return
	}
	m, err := NewMatcher(seedRules)
	if err == nil {
		var sum Summary
		if sum, err = DigestTree(context.Background(), root, m); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(sum)
		}
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// BenchmarkDigest100k digests a 100,000-file synthetic tree (seed exclusions) in a child
// process and reports the child's peak RSS; the page cache is warm after the first run.
func BenchmarkDigest100k(b *testing.B) {
	root := benchTree(b)
	var files, maxRSS int64
	var elapsed time.Duration
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDigestHelperProcess$")
		cmd.Env = append(os.Environ(), digestHelperEnv+"="+root)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		elapsed += time.Since(start)
		if err != nil {
			b.Fatalf("digest helper: %v\n%s", err, stderr.String())
		}
		var sum Summary
		if err := json.Unmarshal(out, &sum); err != nil {
			b.Fatalf("digest helper output %q: %v", out, err)
		}
		files += sum.Files
		b.SetBytes(sum.Bytes)
		// On Linux Maxrss is in KiB.
		maxRSS = max(maxRSS, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	}
	b.ReportMetric(float64(maxRSS)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(files)/elapsed.Seconds(), "files/s")
}

// BenchmarkWalk walks the same tree with the seed exclusions, without reading any file.
func BenchmarkWalk(b *testing.B) {
	root := benchTree(b)
	m, err := NewMatcher(seedRules)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var paths int64
	start := time.Now()
	for b.Loop() {
		err := Walk(context.Background(), root, m, func(Entry) error {
			paths++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(paths)/time.Since(start).Seconds(), "paths/s")
}

// fingerprintSynthetic is the tree of the fingerprint benchmark: 160,000 files (the size of a
// real LLVM checkout) of little data, as a fingerprint reads no content.
var fingerprintSynthetic = synthetic.Tree{Files: 160_000, Bytes: 64 << 20, Seed: 1}

// BenchmarkFingerprint160k fingerprints a 160,000-file synthetic tree (seed exclusions) and
// reports the seconds per fingerprint and the entries stamped per second.
func BenchmarkFingerprint160k(b *testing.B) {
	root := benchTreeOf(b, fingerprintSynthetic)
	m, err := NewMatcher(seedRules)
	if err != nil {
		b.Fatal(err)
	}
	var entries int
	start := time.Now()
	for b.Loop() {
		f, err := TakeFingerprint(context.Background(), root, m)
		if err != nil {
			b.Fatal(err)
		}
		entries += len(f.Stamps)
	}
	b.ReportMetric(float64(entries)/time.Since(start).Seconds(), "entries/s")
}
