package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/results"
)

// TestPmemEveryTree boots guests that get each test tree (the odd-tree catalogue, a
// synthetic LLVM-shaped tree with the seed's exclusions and owner, the sparse tree) through erofs and ext4 on
// virtio-pmem mounted with DAX: read-all must see the host's digest, the agent's DAX check
// must pass (a cell fails if mountinfo shows DAX off), --verify's write at the tree's root
// must succeed (ext4 is mounted read-write on its private mapping) and the image file must
// hash the same after the guest ran as right after it was built. The memory figures and the
// DAX fault counts are recorded.
func TestPmemEveryTree(t *testing.T) {
	needGuest(t)
	odd := filepath.Join(t.TempDir(), "odd tree")
	if err := os.Mkdir(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	oddTree(t, odd)
	sparse := filepath.Join(t.TempDir(), "sparse")
	if err := os.Mkdir(sparse, 0o755); err != nil {
		t.Fatal(err)
	}
	sparseTree(t, sparse)
	for _, tc := range []struct{ name, tree string }{
		{"odd", "tree:\n  path: \"" + odd + "\"\n"},
		{"synthetic", "tree:\n  synthetic: {files: 500, bytes: 2MiB, seed: 23}\n"},
		// A 4 GiB hole: uncompressed erofs writes it out (a 4.5 GiB image and device), ext4
		// keeps it a hole. The guest reads and hashes all 4 GiB through the DAX mapping.
		{"sparse", "tree:\n  path: \"" + sparse + "\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := faultSpec("pmem-"+tc.name, "erofs: {device: pmem}, ext4: {device: pmem}", tc.tree+
				"  exclude: [.git, \"build/*\", \"!build/stage2cross\"]\n  owner: {uid: 1001, gid: 1001}\n"+
				"guest: {arch: x86_64, mountpoint: /root/llvm-project}\nworkload: {builtin: read-all, timeout: 5m}\n")
			for _, c := range runHashingImages(t, yaml) {
				res := c.res
				if res.Status != results.StatusOK {
					t.Errorf("%s failed: %s", res.ID, res.Error)
					continue
				}
				if res.DigestOK == nil || !*res.DigestOK {
					t.Errorf("%s: digest %s does not match the host's", res.ID, res.Digest)
				}
				if res.Verify == nil || res.Verify.WriteError != "" {
					t.Errorf("%s: the tree is not writable in the guest: %+v", res.ID, res.Verify)
				}
				if c.before == "" || c.before != c.after {
					t.Errorf("%s: image %s hashed %q after the build and %q after the guest ran", res.ID, c.image, c.before, c.after)
				}
				if res.Memory == nil || res.Memory.QEMURSSKiB <= 0 || res.Memory.GuestPageCacheKiB <= 0 {
					t.Errorf("%s: memory figures %+v", res.ID, res.Memory)
				}
				if res.Guest.PageFaults <= 0 {
					t.Errorf("%s: no page faults counted over the workload: %+v", res.ID, res.Guest)
				}
				// read-all reads through read(2), which takes no DAX fault: the counts are
				// there, and zero.
				if d := res.Guest.DAX; d == nil || d.PMD+d.PMDFallback+d.PTE != 0 {
					t.Errorf("%s: DAX faults %+v, want counted and none for read-all", res.ID, d)
				}
				if res.Guest.VerifySeconds <= 0 || res.Phases[results.PhaseVerify] <= 0 {
					t.Errorf("%s: no digest pass recorded: guest %+v, phases %v", res.ID, res.Guest, res.Phases)
				}
			}
		})
	}
}

// hashedCell is a cell's result and the hashes of its image file right after the build and
// at teardown, after the guest has stopped.
type hashedCell struct {
	res           *results.Cell
	image         string
	before, after string
}

// runHashingImages runs every cell of specYAML with --verify, its image build step wrapped so
// that the image is hashed when it is built and again at teardown, before it is removed.
func runHashingImages(t *testing.T, specYAML string) []*hashedCell {
	t.Helper()
	r, cells := startRunner(t, specYAML, func(r *testRunner) { r.Choices.Verify = true })
	ctx := context.Background()
	var out []*hashedCell
	for _, c := range cells {
		h := &hashedCell{}
		for i, s := range c.Steps {
			if s.Kind != method.StepBuildImage || imageOf(s) == "" {
				continue
			}
			h.image = imageOf(s)
			run := s.Run
			c.Steps[i].Run = func(ctx context.Context, env method.Env) (func(), error) {
				var undo func()
				var err error
				if run != nil {
					undo, err = run(ctx, env)
				} else {
					err = method.RunCommands(ctx, env, s.Commands)
				}
				if err != nil {
					return undo, err
				}
				h.before = hashFile(t, h.image)
				return func() {
					h.after = hashFile(t, h.image)
					if undo != nil {
						undo()
					}
				}, nil
			}
		}
		h.res = r.RunCell(ctx, c)
		t.Logf("%s: %s %s: workload %.2fs, digest pass %.2fs, memory %+v", h.res.ID, h.res.Status, h.res.Error,
			h.res.Guest.WorkloadSeconds, h.res.Guest.VerifySeconds, h.res.Memory)
		out = append(out, h)
	}
	return out
}

// imageOf is the tree image a build step writes: the argument of its commands naming
// tree.erofs or tree.ext4.
func imageOf(s method.Step) string {
	for _, argv := range s.Commands {
		for _, a := range argv {
			if b := filepath.Base(a); b == "tree.erofs" || b == "tree.ext4" {
				return a
			}
		}
	}
	return ""
}

func hashFile(t *testing.T, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Errorf("hashing the image: %v", err)
		return ""
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Errorf("hashing the image: %v", err)
		return ""
	}
	return fmt.Sprintf("%s (%d bytes)", hex.EncodeToString(h.Sum(nil)), n)
}
