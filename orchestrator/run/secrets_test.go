package run

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vmfsbench/vmfsbench/orchestrator/initramfs"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
)

// TestCellSecretsPrivate: under a umask of 0, a cell's work and socket directories are 0700
// and its initramfs (whose job holds ssh-tar's host key and the workload's environment) is
// 0600, while its logs stay readable.
func TestCellSecretsPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	c := plan.Cell{Work: filepath.Join(dir, "work", "c"), Sockets: filepath.Join(dir, "s", "c"), Logs: filepath.Join(dir, "logs", "c")}
	cr := &cellRun{c: c, log: &method.Log{}}
	if err := cr.setup(); err != nil {
		t.Fatal(err)
	}
	defer cr.files[0].Close()
	base := filepath.Join(dir, "base.cpio")
	if err := os.WriteFile(base, make([]byte, 512), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := initramfs.WriteCellInitrd(c.Initrd(), base, []byte(`{"env":{"TOKEN":"secret"}}`)); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{c.Work: 0o700, c.Sockets: 0o700, c.Initrd(): 0o600, c.Logs: 0o755} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(c.Logs, HostFile)); err != nil || fi.Mode().Perm()&0o044 != 0o044 {
		t.Errorf("host.log not readable: %v %v", fi.Mode(), err)
	}
}
