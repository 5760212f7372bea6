package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"golang.org/x/sys/unix"
)

// The file systems every guest gets before anything else.
var baseMounts = []struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"}, // Python's multiprocessing (lit) needs it
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
}

// setupPID1 mounts the base file systems and makes /dev/console stdin, stdout and stderr.
// The kernel opened the console from its built-in initramfs already (the Go runtime refuses
// to start without fds 0-2); reopening it from devtmpfs changes nothing when that worked.
func setupPID1() error {
	if os.Getpid() != 1 {
		return errors.New("refusing to set up the guest: not PID 1")
	}
	var errs []error
	for _, m := range baseMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err))
		}
	}
	con, err := os.OpenFile("/dev/console", os.O_RDWR, 0)
	if err != nil {
		errs = append(errs, err)
	} else {
		for fd := 0; fd < 3; fd++ {
			if err := unix.Dup3(int(con.Fd()), fd, 0); err != nil {
				errs = append(errs, fmt.Errorf("console on fd %d: %w", fd, err))
			}
		}
		con.Close()
	}
	return errors.Join(errs...)
}

// powerOff ends the VM. If that fails, exiting PID 1 panics the kernel, which with panic=-1
// and QEMU's -no-reboot ends it too.
func powerOff() {
	unix.Sync()
	if os.Getpid() != 1 {
		return
	}
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(os.Stderr, "vmfsbench-agent: power off: %v\n", err)
	}
}

const virtioPorts = "/sys/class/virtio-ports"

// findPort returns the device of the virtio-serial port with the given name, polling sysfs
// for up to wait because ports appear asynchronously after virtio_console loads.
func findPort(ctx context.Context, name string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		ents, _ := os.ReadDir(virtioPorts)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(virtioPorts, e.Name(), "name"))
			if err != nil || strings.TrimSpace(string(b)) != name {
				continue
			}
			dev := filepath.Join("/dev", e.Name())
			if _, err := os.Stat(dev); err == nil {
				return dev, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("virtio-serial port %q: not in %s after %v (%d ports)", name, virtioPorts, wait, len(ents))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// loadModule loads one module file with finit_module. A module that is already loaded is
// fine. ENODEV is not an error either: it is what hardware-specific modules (crc32c-intel
// without SSE4.2 under TCG, for example) return when there is nothing for them to drive, and
// the generic module next in the list takes over.
func loadModule(p string) (status string, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "missing", fmt.Errorf("loading module: %w", err)
	}
	defer f.Close()
	flags := 0
	if strings.HasSuffix(p, ".xz") || strings.HasSuffix(p, ".zst") || strings.HasSuffix(p, ".gz") {
		flags |= unix.MODULE_INIT_COMPRESSED_FILE // kernel 6.4+ with CONFIG_MODULE_DECOMPRESS
	}
	err = unix.FinitModule(int(f.Fd()), "", flags)
	switch {
	case err == nil:
		return "ok", nil
	case errors.Is(err, unix.EEXIST):
		return "already loaded", nil
	case errors.Is(err, unix.ENODEV):
		return "no device (ENODEV), skipped", nil
	}
	return "failed: " + err.Error(), fmt.Errorf("loading module %s: %w", p, err)
}

// mountFlagWords are the mount(8) options that are flags of mount(2), not file system data.
var mountFlagWords = map[string]struct{ set, clear uintptr }{
	"ro":          {unix.MS_RDONLY, 0},
	"rw":          {0, unix.MS_RDONLY},
	"noatime":     {unix.MS_NOATIME, 0},
	"nodiratime":  {unix.MS_NODIRATIME, 0},
	"relatime":    {unix.MS_RELATIME, 0},
	"strictatime": {unix.MS_STRICTATIME, 0},
	"nosuid":      {unix.MS_NOSUID, 0},
	"nodev":       {unix.MS_NODEV, 0},
	"noexec":      {unix.MS_NOEXEC, 0},
	"sync":        {unix.MS_SYNCHRONOUS, 0},
	"dirsync":     {unix.MS_DIRSYNC, 0},
	"bind":        {unix.MS_BIND, 0},
	"rbind":       {unix.MS_BIND | unix.MS_REC, 0},
}

// mountOptions splits mount(8)-style options into mount(2) flags and file system data.
func mountOptions(options string, readOnly bool) (flags uintptr, data string) {
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	var rest []string
	for _, o := range strings.Split(options, ",") {
		if o == "" {
			continue
		}
		if f, ok := mountFlagWords[o]; ok {
			flags = flags&^f.clear | f.set
			continue
		}
		rest = append(rest, o)
	}
	return flags, strings.Join(rest, ",")
}

func mountStep(s protocol.Step) error {
	if err := os.MkdirAll(s.Target, 0o755); err != nil {
		return err
	}
	flags, data := mountOptions(s.Options, s.ReadOnly)
	source := s.Source
	if source == "" {
		source = s.FSType
	}
	if err := unix.Mount(source, s.Target, s.FSType, flags, data); err != nil {
		return fmt.Errorf("mount -t %s -o %q %s %s: %w", s.FSType, data, source, s.Target, err)
	}
	return nil
}

// overlayDir is where the i-th step's scratch file system for an overlay is mounted.
func overlayDir(i int) string { return fmt.Sprintf("/run/vmfsbench/overlay%d", i+1) }

// overlayStep mounts an overlay of s.Lower at s.Target whose writable layer lives on a fresh
// tmpfs, or on s.UpperDevice (ext4 made by the host).
func overlayStep(s protocol.Step, i int) error {
	scratch := overlayDir(i)
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return err
	}
	if s.UpperDevice != "" {
		if err := unix.Mount(s.UpperDevice, scratch, "ext4", 0, ""); err != nil {
			return fmt.Errorf("mounting upper device %s (ext4) on %s: %w", s.UpperDevice, scratch, err)
		}
	} else if err := unix.Mount("tmpfs", scratch, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mounting tmpfs on %s: %w", scratch, err)
	}
	in := func(p, def string) string {
		if p == "" {
			p = def
		}
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(scratch, p)
	}
	upper, work := in(s.Upper, "upper"), in(s.Work, "work")
	for _, d := range []string{upper, work, s.Target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The merged root takes its owner and mode from the upper directory: copy them from the
	// top lower layer, or a workload running as the tree's owner could not write at its root.
	top, _, _ := strings.Cut(s.Lower, ":")
	info, err := os.Stat(top)
	if err != nil {
		return fmt.Errorf("overlay lower: %w", err)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(upper, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := os.Chmod(upper, info.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	if err := whiteouts(top, upper, s.Hide); err != nil {
		return err
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", s.Lower, upper, work)
	flags, extra := mountOptions(s.Options, s.ReadOnly)
	if extra != "" {
		data += "," + extra
	}
	if err := unix.Mount("overlay", s.Target, "overlay", flags, data); err != nil {
		return fmt.Errorf("mount -t overlay -o %q overlay %s: %w", data, s.Target, err)
	}
	return nil
}

// whiteouts hides each path (relative to the lower root) from the merged view by putting an
// overlayfs whiteout, a 0:0 character device, at that path in the upper layer. The directories
// leading to it are created in the upper layer with the lower directories' owner and mode,
// since a merged directory shows the upper one's attributes.
func whiteouts(lower, upper string, hide []string) error {
	for _, rel := range hide {
		rel = filepath.Clean(rel)
		if rel == "." || filepath.IsAbs(rel) || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("overlay hide: bad path %q", rel)
		}
		dir := filepath.Dir(rel)
		if dir != "." {
			parts := strings.Split(dir, "/")
			for j := range parts {
				sub := filepath.Join(parts[:j+1]...)
				if err := copyDir(filepath.Join(lower, sub), filepath.Join(upper, sub)); err != nil {
					return fmt.Errorf("overlay hide %s: %w", rel, err)
				}
			}
		}
		if err := unix.Mknod(filepath.Join(upper, rel), unix.S_IFCHR|0o000, 0); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("overlay hide %s: whiteout: %w", rel, err)
		}
	}
	return nil
}

// copyDir makes dst a directory with src's owner and mode, if it is not there yet.
func copyDir(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dst, info.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky))
}

// describeStep is the step-start message: what the step does, as a command where one fits.
func describeStep(s protocol.Step) string {
	switch s.Kind {
	case protocol.StepMkdir:
		return "mkdir -p " + s.Path
	case protocol.StepMount:
		ro := ""
		if s.ReadOnly {
			ro = " -r"
		}
		opts := ""
		if s.Options != "" {
			opts = " -o " + s.Options
		}
		return fmt.Sprintf("mount%s -t %s%s %s %s", ro, s.FSType, opts, s.Source, s.Target)
	case protocol.StepOverlay:
		upper := "tmpfs"
		if s.UpperDevice != "" {
			upper = s.UpperDevice + " (ext4)"
		}
		return fmt.Sprintf("overlay %s on %s, upper on %s", s.Lower, s.Target, upper)
	case protocol.StepReceiveTar:
		return fmt.Sprintf("tar -x -C %s < port %s", s.Target, s.Port)
	case protocol.StepNetUp:
		ifc, addr, gw := netDefaults(s)
		return fmt.Sprintf("ip addr add %s dev %s; ip route add default via %s", addr, ifc, gw)
	case protocol.StepSync:
		return "sync"
	case protocol.StepSSHD:
		return fmt.Sprintf("sshd on %s (cipher %s), one session: tar -x -C %s", s.Listen, cipherName(s.Cipher), s.Target)
	}
	return s.Kind
}
