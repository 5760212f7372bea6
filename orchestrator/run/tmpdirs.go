package run

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// TempPrefix starts the name of each run's private directory (sockets, probes) in the
// system's temporary directory.
const TempPrefix = "vmfsbench."

// tempOwner is the file in such a directory that names the process that made it: its pid and
// its start time (field 22 of /proc/PID/stat), so that a reused pid is not taken for it.
const tempOwner = "owner"

// MkdirTemp makes this process's vmfsbench.* directory in os.TempDir, recording its pid in
// it, after removing those whose process is dead (a run killed by SIGKILL leaves its own).
func MkdirTemp() (string, error) {
	RemoveStaleTemp(os.TempDir())
	dir, err := os.MkdirTemp("", TempPrefix)
	if err != nil {
		return "", err
	}
	pid := os.Getpid()
	owner := fmt.Sprintf("%d %s\n", pid, procStart(pid))
	if err := os.WriteFile(filepath.Join(dir, tempOwner), []byte(owner), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// RemoveStaleTemp removes the vmfsbench.* directories in tmp, of this user, whose recorded
// process is dead, and returns them. A directory without a recorded pid is kept: it may be
// one being made, or one of a vmfsbench that did not record it.
func RemoveStaleTemp(tmp string) []string {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), TempPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, tempOwner))
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
		if processAlive(pid, start) {
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
