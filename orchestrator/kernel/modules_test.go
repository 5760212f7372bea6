package kernel

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
)

// realKernel returns the cached Debian kernel, fetching it when CI is set.
func realKernel(t *testing.T) Kernel {
	t.Helper()
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	k, err := Find(cache, "x86_64")
	if err == nil {
		return k
	}
	if !testenv.InCI() {
		testenv.Missing(t, "no cached kernel for the real-kernel comparison (make kernel): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	var log bytes.Buffer
	k, err = Fetch(ctx, cache, "x86_64", &log)
	if err != nil {
		t.Fatalf("CI: fetching the kernel: %v\n%s", err, log.String())
	}
	return k
}

// TestModuleClosureMatchesModprobe compares initramfs.ModuleClosure's closure of single
// modules of Debian's real kernel with the load order kmod's modprobe prints. It lives on the
// host's side, where the kernel is fetched: no guestinit package imports orchestrator.
func TestModuleClosureMatchesModprobe(t *testing.T) {
	modprobe := testenv.Tool(t, "modprobe")[0]
	k := realKernel(t)
	// modprobe wants ROOT/lib/modules/VERSION; a user's modules dir may live anywhere.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "lib", "modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(k.ModulesDir, filepath.Join(root, "lib", "modules", k.Version)); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(root, "lib", "modules", k.Version) + "/"
	for _, m := range []string{"9pnet_virtio", "9p", "virtiofs", "overlay", "squashfs", "virtio_net", "virtio_blk", "virtio_console", "virtio_pci", "vmw_vsock_virtio_transport"} {
		t.Run(m, func(t *testing.T) {
			// -C /dev/null: the host's modprobe.d (blacklists, softdeps) has no say here.
			out, err := exec.Command(modprobe, "-C", os.DevNull, "-d", root, "-S", k.Version, "--show-depends", m).CombinedOutput()
			if err != nil {
				t.Fatalf("modprobe --show-depends %s: %v\n%s", m, err, out)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(l)
				if len(f) < 2 || f[0] != "insmod" {
					t.Fatalf("unexpected modprobe line %q", l)
				}
				want = append(want, strings.TrimPrefix(f[1], prefix))
			}
			got, err := initramfs.ModuleClosure(k.ModulesDir, []string{m})
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, g := range got {
				paths = append(paths, g.Path)
			}
			if !reflect.DeepEqual(paths, want) {
				t.Errorf("ModuleClosure(%s) = %v\nmodprobe says  %v", m, paths, want)
			}
		})
	}
}
