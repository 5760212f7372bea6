package run

import "github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"

// MkdirTemp makes this run's private directory (sockets, probes) in the system's temporary
// directory, named and recorded so that stale-directory cleanup knows it (package tmpdir).
func MkdirTemp() (string, error) { return tmpdir.Make("") }
