// Package probe finds, before anything is planned, what this host can do for an experiment:
// the host tools its methods run (with their versions), what the QEMU binary has (its
// version and device models, asked once per binary and cached), and the accelerator (KVM's
// verdict remembered for the host's boot). The plan is made from what it finds.
package probe

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
	"github.com/vmfsbench/vmfsbench/orchestrator/method"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/qemu"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
)

// Tools finds, once each, QEMU and every host tool the methods of e's cells run. QEMU's
// Detail is a qemu.Caps: its device models, cached in cache by the binary's identity, and the
// features the cells need beyond QEMU's defaults (method.QEMUFeatures), probed in a scratch
// image under cache.
func Tools(ctx context.Context, cache string, e *spec.Experiment) method.Found {
	a, _ := arch.Lookup(e.Guest.Arch)
	cells, _ := plan.Cells(e)
	var feats []qemu.Feature
	for _, c := range cells {
		feats = append(feats, method.QEMUFeatures(method.Params(c.Params))...)
	}
	q := QEMUTool(cache, a, e.QEMU.Binary)
	if len(feats) > 0 {
		devices := q.Probe
		q.Probe = func(ctx context.Context, path string) (string, any, error) {
			v, d, err := devices(ctx, path)
			caps, _ := d.(qemu.Caps)
			caps.Version = v
			caps.Features = qemu.ProbeFeatures(ctx, path, cmp.Or(e.QEMU.Machine, a.Machine), cache, feats)
			return v, caps, err
		}
	}
	found := method.Found{"qemu": method.FindTool(ctx, q)}
	for _, c := range cells {
		tools, err := c.Tools()
		if err != nil {
			continue // Expand names the unknown method
		}
		for _, t := range tools {
			if _, ok := found[t.Name]; !ok {
				found[t.Name] = method.FindTool(ctx, t)
			}
		}
	}
	return found
}

// QEMUTool is the QEMU binary of arch a (binary, when given, instead of the arch's) as a host
// tool: its version, and its device models as Detail (a qemu.Caps; its Models nil when the
// binary would not list them, and then no cell is refused for a device).
func QEMUTool(cache string, a arch.Arch, binary string) method.Tool {
	return method.Tool{Name: "qemu", Package: a.QEMUPackage, Paths: []string{cmp.Or(binary, a.QEMUBinary)},
		Probe: func(ctx context.Context, path string) (string, any, error) {
			version := method.AskVersion(ctx, "", path, "--version")
			devs, err := deviceModels(ctx, cache, path, version)
			if err != nil {
				return version, qemu.Caps{Version: version}, nil
			}
			return version, qemu.Caps{Version: version, Models: devs}, nil
		}}
}

// deviceModels asks the binary at path its device models, or reads them from the cache,
// where they are kept under the binary's path, size, modification time and version: a new
// QEMU package is asked again.
func deviceModels(ctx context.Context, cache, path, version string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%s", abs, fi.Size(), fi.ModTime().UnixNano(), version))
	file := filepath.Join(cache, "qemu-devices", hex.EncodeToString(sum[:8])+".json")
	var models []string
	if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &models) == nil && len(models) > 0 {
		return models, nil
	}
	if models, err = qemu.DeviceModels(ctx, path); err != nil {
		return nil, err
	}
	if cache != "" && os.MkdirAll(filepath.Dir(file), 0o755) == nil {
		b, _ := json.Marshal(models)
		atomicfile.WriteFile(file, b, 0o644) // a cache: not keeping it costs a second next time
	}
	return models, nil
}
