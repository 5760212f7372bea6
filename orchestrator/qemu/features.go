package qemu

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/proc"
)

// Feature is something a QEMU binary may or may not do, depending on how it was built and
// on the machine: a block I/O mode, a bus. ProbeFeature asks the binary itself.
type Feature string

// Features a cell may need.
const (
	// FeatureIOURing is aio=io_uring on a file node (QEMU built with liburing, a host
	// kernel with io_uring).
	FeatureIOURing Feature = "aio=io_uring"
	// FeatureNative is aio=native on a file node with cache.direct=on (QEMU built with
	// libaio, a file system with O_DIRECT).
	FeatureNative Feature = "aio=native"
	// FeatureMMIO is virtio-blk-device on the machine's virtio-mmio bus.
	FeatureMMIO Feature = "virtio-mmio"
	// FeatureMMIOIOThread is virtio-blk-device with an iothread: virtio-mmio has the
	// ioeventfd an iothread needs only with KVM ("ioeventfd is required for iothread" under
	// TCG, QEMU 7.2), so it is probed with KVM where QEMU can use it, else TCG.
	FeatureMMIOIOThread Feature = "virtio-mmio iothread"
)

// Features are the probed features of one QEMU binary: nil for one it has, the reason for one
// it lacks. A feature not in the map was not probed.
type Features map[Feature]error

// ProbeFeature starts binary paused on machine ("" for none: a feature of no machine) with
// the options that need f, and quits it through its monitor: nil when QEMU took them,
// otherwise an error quoting what QEMU said. dir holds the probe's scratch image; it must be
// on a file system with O_DIRECT for FeatureNative. It takes 0.1-0.3 s per feature here.
func ProbeFeature(ctx context.Context, binary, machine, dir string, f Feature) error {
	args := []string{"-machine", cmp.Or(machine, "none"), "-accel", "tcg", "-nodefaults", "-display", "none",
		"-S", "-monitor", "stdio", "-serial", "none"}
	if f == FeatureMMIOIOThread {
		args = slices.Insert(args, 2, "-accel", "kvm") // QEMU takes the first accelerator that works
	}
	switch f {
	case FeatureIOURing, FeatureNative:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("probing %s: %w", f, err)
		}
		img, err := os.CreateTemp(dir, "vmfsbench-probe-*.img")
		if err != nil {
			return fmt.Errorf("probing %s: %w", f, err)
		}
		defer os.Remove(img.Name())
		err = img.Truncate(1 << 20)
		img.Close()
		if err != nil {
			return fmt.Errorf("probing %s: %w", f, err)
		}
		node := "driver=file,node-name=f0,filename=" + escape(img.Name()) + ",read-only=on,aio=" + strings.TrimPrefix(string(f), "aio=")
		if f == FeatureNative {
			node += ",cache.direct=on"
		}
		args = append(args, "-blockdev", node)
	case FeatureMMIO:
		args = append(args, "-blockdev", "driver=null-co,node-name=n0", "-device", "virtio-blk-device,drive=n0")
	case FeatureMMIOIOThread:
		args = append(args, "-blockdev", "driver=null-co,node-name=n0", "-object", "iothread,id=io0",
			"-device", "virtio-blk-device,drive=n0,iothread=io0")
	default:
		return fmt.Errorf("probing %q: no such feature", f)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := proc.Command(ctx, append([]string{binary}, args...)...)
	cmd.Stdin = strings.NewReader("quit\n")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(binary), f, err, msg)
	}
	return nil
}

// Caps is what a probed QEMU binary has: its version, its device models (-device help; a
// cell that attaches a model the binary lacks is refused) and the features the cells need
// beyond QEMU's defaults (ProbeFeatures). It is the qemu host tool's Detail.
type Caps struct {
	Version  string
	Models   []string // nil when the binary would not list them: no cell is refused for a device
	Features Features // nil when no cell needs a feature
}

// ProbeFeatures probes each of fs once (see ProbeFeature).
func ProbeFeatures(ctx context.Context, binary, machine, dir string, fs []Feature) Features {
	out := Features{}
	for _, f := range fs {
		if _, done := out[f]; !done {
			m := ""
			if f == FeatureMMIO || f == FeatureMMIOIOThread {
				m = machine
			}
			out[f] = ProbeFeature(ctx, binary, m, dir, f)
		}
	}
	return out
}

// Needs lists the features b needs of QEMU, in a fixed order.
func (b Block) Needs() []Feature {
	var fs []Feature
	switch b.AIO {
	case AIOIOURing:
		fs = append(fs, FeatureIOURing)
	case AIONative:
		fs = append(fs, FeatureNative)
	}
	if b.Bus == BusMMIO {
		fs = append(fs, FeatureMMIO)
		if b.IOThread {
			fs = append(fs, FeatureMMIOIOThread)
		}
	}
	return slices.Clip(fs)
}
