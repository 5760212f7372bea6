package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A workload that starts a process in the background and exits would be "ok" while its child
// runs on, its work neither timed nor finished. The agent is the subreaper of what the
// workload starts (as the guest's init it is anyway), so a process that leaves the workload's
// process group (setsid, a daemon's double fork) comes back to it as an orphan. When the
// workload's command has exited, whatever of it is still running, in its process group or
// orphaned to the agent, fails the workload and is killed: a workload must wait for what it
// starts.

// proc is one process of /proc: its pid, parent, process group, state and command name.
type proc struct {
	pid, ppid, pgrp int
	state, comm     string
}

// processes lists the processes of /proc.
func processes() []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold blanks, so split after its ')'.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		out = append(out, proc{pid: pid, ppid: ppid, pgrp: pgrp, state: f[0], comm: s[open+1 : end]})
	}
	return out
}

// children are the pids of this process's live children now.
func children() map[int]bool {
	self := os.Getpid()
	out := map[int]bool{}
	for _, p := range processes() {
		if p.ppid == self {
			out[p.pid] = true
		}
	}
	return out
}

// lingering lists the live processes of the workload whose command (pid, also its process
// group) has exited: those of its process group, and the orphans adopted by the agent that
// were not its children before the workload started.
func lingering(pid int, before map[int]bool) []proc {
	self := os.Getpid()
	var out []proc
	for _, p := range processes() {
		if p.state == "Z" || p.pid == self || p.pid == pid {
			continue
		}
		if p.pgrp == pid || (p.ppid == self && !before[p.pid]) {
			out = append(out, p)
		}
	}
	return out
}

// killLingering kills the processes left and returns the workload's error naming them.
func killLingering(left []proc) error {
	names := make([]string, len(left))
	for i, p := range left {
		unix.Kill(p.pid, unix.SIGKILL)
		names[i] = fmt.Sprintf("%d (%s)", p.pid, p.comm)
	}
	return fmt.Errorf("the workload's command exited but left %d processes running: %s; they were killed. A workload must wait for what it starts",
		len(left), strings.Join(names, ", "))
}

// becomeSubreaper makes the agent adopt the orphans of what it starts.
func becomeSubreaper() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
