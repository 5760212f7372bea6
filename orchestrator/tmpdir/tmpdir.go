// Package tmpdir makes every temporary directory vmfsbench makes in the system's temporary
// directory, under one prefix and with the pid of its maker recorded, so that the next run
// removes those a killed run left (SIGKILL gives no chance to clean up).
package tmpdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every directory vmfsbench makes in the system's temporary
// directory (a run's sockets, probes, image build views).
const Prefix = "vmfsbench."

// ownerFile is the file in such a directory that names the process that made it: its pid and
// its start time (field 22 of /proc/PID/stat), so that a reused pid is not taken for it.
const ownerFile = "owner"

// Make makes a directory vmfsbench.NAME.* (vmfsbench.* for name "") in os.TempDir, mode
// 0700, recording this process in it, after removing those whose process is dead.
func Make(name string) (string, error) { return MakeIn(os.TempDir(), name) }

// MakeIn is Make in the directory parent instead of the system's temporary directory: exec
// makes its cell's directory in the user cache, beside the images it hard-links.
func MakeIn(parent, name string) (string, error) {
	RemoveStale(parent)
	pattern := Prefix
	if name != "" {
		pattern += name + "."
	}
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", err
	}
	pid := os.Getpid()
	owner := fmt.Sprintf("%d %s\n", pid, procStart(pid))
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// RemoveStale removes the vmfsbench.* directories in tmp, of this user, whose recorded
// process is dead, and returns them. A directory without a recorded pid is kept: it may be
// one being made, or one of a vmfsbench that did not record it; so is one with a file system
// mounted below it (removing it would reach into the mount).
func RemoveStale(tmp string) []string {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		fi, err := e.Info()
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(data))
		if len(fields) == 0 {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil || pid <= 0 {
			continue
		}
		start := ""
		if len(fields) > 1 {
			start = fields[1]
		}
		if processAlive(pid, start) || holdsMount(dir, st.Dev) {
			continue
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

// processAlive reports whether the process pid exists and, when start is known, is the one
// that started at start.
func processAlive(pid int, start string) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	now := procStart(pid)
	return start == "" || now == "" || now == start
}

// procStart is the start time of process pid in clock ticks since boot, or "" when unknown.
func procStart(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name, field 2, is in parentheses and may hold spaces: count after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 { // field 3 is f[0]; field 22 is f[19]
		return ""
	}
	return f[19]
}

// holdsMount reports whether a directory below dir, whose device is dev, is on another
// device: a mount point. An error walking counts as one: the directory is kept.
func holdsMount(dir string, dev uint64) bool {
	other := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		if uint64(st.Dev) != dev {
			other = true
			return fs.SkipAll
		}
		return nil
	})
	return other || err != nil
}
