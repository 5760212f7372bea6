package method

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// ext4ChildEnv makes TestExt4UnprivilegedBuild, run again as its child, build the image.
const ext4ChildEnv = "VMFSBENCH_TEST_EXT4_UNPRIV"

// TestExt4UnprivilegedBuild (issue 12, finding 12): a user without the privilege to mount
// builds the ext4 image of their own tree with tree.owner set, which takes the staging route
// where mkfs.ext4 reads no tar stream. The test runs the build in a copy of the test binary
// as nobody, on a tree nobody owns that holds a FIFO (which the survey says ext4 leaves out
// there) and an excluded directory. The build must succeed, leave the FIFO out, give every
// entry the owner asked, and leave the tree's full stat listing (ctime included) as it was:
// the staging tree copies the files, never hard-links them.
func TestExt4UnprivilegedBuild(t *testing.T) {
	if os.Getenv(ext4ChildEnv) != "" {
		ext4BuildAsChild(t)
		return
	}
	needTool(t, "mkfs.ext4", "debugfs")
	testenv.Root(t, "switching to nobody for the unprivileged build")
	const nobody = 65534
	base, err := os.MkdirTemp("", "vmfsbench-ext4-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	root, work := filepath.Join(base, "tree"), filepath.Join(base, "work")
	for p, c := range map[string]string{"src/a.c": "int a;\n", "src/b.h": "#define B\n", "README": "read me\n", "build/x.o": "excluded\n"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mkfifo(filepath.Join(root, "src/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.c", filepath.Join(root, "src/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "method.test")
	if b, err := os.ReadFile(self); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{base, work} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(work, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := tree.StatList(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-test.run", "^TestExt4UnprivilegedBuild$", "-test.v")
	cmd.Env = append(os.Environ(), ext4ChildEnv+"=1", "TREE="+root, "WORK="+work, "HOME="+base, "XDG_CACHE_HOME=")
	cmd.Dir = base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	t.Logf("the build as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("the unprivileged build failed: %v", err)
	}
	after, err := tree.StatList(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if d := tree.StatListDiff(before, after, 20); d != nil {
		t.Errorf("the build changed the host tree:\n%s", strings.Join(d, "\n"))
	}
	if !bytes.Contains(out, []byte("ext4: route staging")) && !bytes.Contains(out, []byte("ext4: route tar")) {
		t.Errorf("the build took neither the staging nor the tar route")
	}
	image := filepath.Join(work, "tree.ext4")
	ls, err := toolOutput("debugfs", "-R", "ls -l /src", image)
	if err != nil {
		t.Fatalf("debugfs: %v\n%s", err, ls)
	}
	t.Logf("/src in the image:\n%s", ls)
	for _, name := range []string{"a.c", "b.h", "link"} {
		if !strings.Contains(ls, " "+name) {
			t.Errorf("the image lacks src/%s", name)
		}
	}
	if strings.Contains(ls, "fifo") {
		t.Errorf("the image holds the FIFO the survey says is left out")
	}
	if strings.Contains(ls, "65534") || !strings.Contains(ls, "1001") {
		t.Errorf("the image's owners are not 1001:1001")
	}
}

// ext4BuildAsChild builds the image of $TREE in $WORK the way the runner does (tools probed,
// no privilege to mount), with the owner 1001:1001 and build/ excluded.
func ext4BuildAsChild(t *testing.T) {
	m, err := tree.NewMatcher([]string{"build"})
	if err != nil {
		t.Fatal(err)
	}
	root := os.Getenv("TREE")
	hidden, err := tree.ExcludedRoots(context.Background(), root, m)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	c := Config{Params: Params{"size": "auto"}, Tree: root, Work: os.Getenv("WORK"), Sockets: t.TempDir(), Hidden: hidden,
		Exclude: []string{"build"}, Owner: &tree.Owner{UID: 1001, GID: 1001}, Mountpoint: "/root/tree", CanMount: CanMount()}
	if c.CanMount {
		t.Fatal("the child may mount: it should run as nobody")
	}
	ext4, err := Lookup("ext4")
	if err != nil {
		t.Fatal(err)
	}
	runSteps(t, ext4, c, Env{Log: &log, Matcher: m})
	t.Logf("log:\n%s", log.String())
}
