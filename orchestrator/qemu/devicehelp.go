package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
)

// deviceNameRE matches a device model in `-device help`'s list, e.g.
// `name "virtio-9p-pci", bus PCI, alias "virtio-9p"`.
var deviceNameRE = regexp.MustCompile(`^name "([^"]+)"(?:.*, alias "([^"]+)")?`)

// DeviceModels runs binary -device help and returns the device models (and their aliases)
// the binary has, sorted. They differ between the binaries of one QEMU version: Debian's 7.2
// has virtio-pmem-pci in qemu-system-x86_64 only.
func DeviceModels(ctx context.Context, binary string) ([]string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "-nodefaults", "-device", "help")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -device help: %w: %s", binary, err, strings.TrimSpace(stderr.String()))
	}
	models := parseDeviceHelp(string(out))
	if len(models) == 0 {
		return nil, fmt.Errorf("%s -device help: no device listed", binary)
	}
	return models, nil
}

func parseDeviceHelp(out string) []string {
	var models []string
	for _, line := range strings.Split(out, "\n") {
		if m := deviceNameRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			models = append(models, m[1])
			if m[2] != "" {
				models = append(models, m[2])
			}
		}
	}
	slices.Sort(models)
	return slices.Compact(models)
}

// ModelsOf returns the device models argv attaches with -device, in order, each once.
func ModelsOf(argv []string) []string {
	var models []string
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] != "-device" {
			continue
		}
		m, _, _ := strings.Cut(argv[i+1], ",")
		if !slices.Contains(models, m) {
			models = append(models, m)
		}
	}
	return models
}
