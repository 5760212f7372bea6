package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
)

// litReport reads lit's JSON report (llvm-lit -o FILE) and returns every test's name, result
// code and time, dropping the rest (each test's output makes up most of the file). A test
// lit did not time (its elapsed is null) gets 0 s.
func litReport(file string) ([]protocol.TestResult, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r struct {
		Tests []struct {
			Name    string   `json:"name"`
			Code    string   `json:"code"`
			Elapsed *float64 `json:"elapsed"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("lit report %s: %w", file, err)
	}
	out := make([]protocol.TestResult, len(r.Tests))
	for i, t := range r.Tests {
		out[i] = protocol.TestResult{Name: t.Name, Code: t.Code}
		if t.Elapsed != nil {
			out[i].Seconds = *t.Elapsed
		}
	}
	return out, nil
}

// litReportPath is where the agent finds the exec workload's lit report: w.LitReport inside
// w.Chroot, relative to the command's working directory root/w.Cwd unless absolute.
func litReportPath(w protocol.Workload, root string) string {
	p := w.LitReport
	if !path.IsAbs(p) {
		p = path.Join(root, w.Cwd, p)
	}
	return path.Join("/", w.Chroot, p)
}
