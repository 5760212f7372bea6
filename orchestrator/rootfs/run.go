package rootfs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/proc"

	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// Bind mounts the host directory Source read-write at Target, an absolute path in the root:
// the empty Mountpoint, or anywhere under /tmp.
type Bind struct {
	Source, Target string
}

// Command is a command Image.Run runs inside an image on the host.
type Command struct {
	// Argv is the command and its arguments; Argv[0] is looked up in the image's SearchPath.
	Argv []string
	// Dir is the working directory in the root; empty means Home.
	Dir string
	// Binds are mounted in order after the root, /proc, /dev, /dev/shm and /tmp.
	Binds []Bind
	// AsUser runs the command as User (UID:GID) rather than as root.
	AsUser bool
	// Stdout and Stderr receive the command's output; nil discards it.
	Stdout, Stderr io.Writer
}

// Run runs c inside img on the host, as a check of the image and its workload without a
// guest: in a private mount namespace (so nothing it mounts outlives it or reaches the host's
// mounts) it loop-mounts the image read-only on a temporary directory, mounts /proc, a
// devtmpfs /dev with a tmpfs /dev/shm, a tmpfs on /tmp and c.Binds, and chroots into it with
// the environment of Image.Env. It needs root, unshare (util-linux) and a free loop device.
// The error of a command that ran and failed carries its exit status.
func (img Image) Run(ctx context.Context, c Command) error {
	if len(c.Argv) == 0 {
		return fmt.Errorf("run in rootfs %s: no command", img.Path)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("run in rootfs %s: %w: chroot and mount need it", img.Path, ErrNotRoot)
	}
	if _, err := os.Stat(img.Path); err != nil {
		return fmt.Errorf("run in rootfs: %w", err)
	}
	base, err := tmpdir.Make("rootfs")
	if err != nil {
		return fmt.Errorf("run in rootfs: %w", err)
	}
	mnt := filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		os.RemoveAll(base)
		return fmt.Errorf("run in rootfs: %w", err)
	}
	defer func() {
		if os.Remove(mnt) == nil { // never through a mount still there
			os.RemoveAll(base)
		}
	}()

	script, args, err := img.runScript(mnt, c)
	if err != nil {
		return err
	}
	stdout, stderr := c.Stdout, c.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	unshare, err := lookPath("unshare")
	if err != nil {
		return fmt.Errorf("run in rootfs %s: unshare not found: install util-linux", img.Path)
	}
	cmd := exec.CommandContext(ctx, unshare, append([]string{"--mount", "--propagation", "private", "/bin/sh", "-ec", script, "vmfsbench-rootfs"}, args...)...)
	proc.Group(cmd)
	cmd.WaitDelay = 5 * time.Second
	var errTail bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, io.MultiWriter(stderr, &errTail)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run in rootfs %s: %s: %w: %s", img.Path, strings.Join(c.Argv, " "), err, tail(errTail.String(), 2000))
	}
	return nil
}

// runScript returns the shell script Run runs in the new mount namespace, and its arguments
// (the command, after the working directory).
func (img Image) runScript(mnt string, c Command) (string, []string, error) {
	dir := c.Dir
	if dir == "" {
		dir = Home
	}
	var b strings.Builder
	r := shellQuote(mnt)
	fmt.Fprintf(&b, "mount -o loop,ro %s %s\n", shellQuote(img.Path), r)
	fmt.Fprintf(&b, "mount -t proc proc %s/proc\n", r)
	// As in the guest: a devtmpfs /dev (the host's /dev where devtmpfs cannot be mounted) and
	// a tmpfs /dev/shm, without which Python's multiprocessing, and so lit, fails as a user.
	fmt.Fprintf(&b, "mount -t devtmpfs devtmpfs %s/dev 2>/dev/null || mount --rbind /dev %s/dev\n", r, r)
	fmt.Fprintf(&b, "mkdir -p %s/dev/shm\nmount -t tmpfs -o mode=1777,nosuid,nodev tmpfs %s/dev/shm\n", r, r)
	fmt.Fprintf(&b, "mount -t tmpfs -o mode=1777 tmpfs %s/tmp\n", r)
	for _, bd := range c.Binds {
		t := path.Clean(bd.Target)
		if !path.IsAbs(t) || (t != Mountpoint && !strings.HasPrefix(t, "/tmp/")) {
			return "", nil, fmt.Errorf("run in rootfs %s: bind target %q is neither %s nor under /tmp", img.Path, bd.Target, Mountpoint)
		}
		if fi, err := os.Stat(bd.Source); err != nil || !fi.IsDir() {
			return "", nil, fmt.Errorf("run in rootfs %s: bind source %s is not a directory", img.Path, bd.Source)
		}
		if t != Mountpoint {
			fmt.Fprintf(&b, "mkdir -p %s%s\n", r, shellQuote(t))
		}
		fmt.Fprintf(&b, "mount --bind %s %s%s\n", shellQuote(bd.Source), r, shellQuote(t))
	}
	b.WriteString("exec chroot ")
	if c.AsUser {
		fmt.Fprintf(&b, "--userspec=%d:%d ", UID, GID)
	}
	fmt.Fprintf(&b, "%s /usr/bin/env -i", r)
	env := img.Env()
	if !c.AsUser {
		env = []string{"PATH=" + img.SearchPath, "HOME=/root", "LANG=C.UTF-8"}
	}
	for _, e := range env {
		b.WriteString(" " + shellQuote(e))
	}
	// The inner shell changes directory and runs the command with its arguments as given.
	b.WriteString(` /bin/sh -c 'cd "$0" && exec "$@"' "$@"` + "\n")
	return b.String(), append([]string{dir}, c.Argv...), nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
