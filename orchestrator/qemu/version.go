package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// ErrBadVersion means `qemu -version` printed something that is not a QEMU
// version banner.
var ErrBadVersion = errors.New("unrecognized qemu version output")

// versionRE matches the first line of `qemu-system-* -version`, e.g.
// "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)".
var versionRE = regexp.MustCompile(`^QEMU emulator version (\d+\.\d+(?:\.\d+)?)(.*)$`)

// Version runs binary -version and returns the version it reports, with the
// packager's suffix if any, e.g. "7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)",
// for the results' metadata.
func Version(ctx context.Context, binary string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, "-version")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s -version: %w: %s", binary, err, strings.TrimSpace(stderr.String()))
	}
	v, err := parseVersion(string(out))
	if err != nil {
		return "", fmt.Errorf("%s -version: %w", binary, err)
	}
	return v, nil
}

func parseVersion(out string) (string, error) {
	first, _, _ := strings.Cut(out, "\n")
	m := versionRE.FindStringSubmatch(strings.TrimSpace(first))
	if m == nil {
		return "", fmt.Errorf("%w: %q", ErrBadVersion, first)
	}
	return m[1] + strings.TrimRight(m[2], " "), nil
}
