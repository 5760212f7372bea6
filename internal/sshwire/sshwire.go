// Package sshwire is what both ends of ssh-tar agree on: the key exchanges, and the one
// command the guest's server runs, written by the host's client and parsed by the server.
package sshwire

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/crypto/ssh"
)

// KeyExchanges are the key exchanges both ends allow: the modern two, nothing with SHA-1.
var KeyExchanges = []string{ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519}

// ParseTarCommand returns TARGET of the only command the server runs, `tar -x -C TARGET`:
// single spaces between the words, TARGET an absolute, clean path, bare or in single quotes
// (with no quote inside).
func ParseTarCommand(cmd string) (string, error) {
	const prefix = "tar -x -C "
	if !strings.HasPrefix(cmd, prefix) {
		return "", fmt.Errorf("not %q", prefix+"TARGET")
	}
	target := cmd[len(prefix):]
	if len(target) >= 2 && target[0] == '\'' && target[len(target)-1] == '\'' {
		target = target[1 : len(target)-1]
		if strings.Contains(target, "'") {
			return "", errors.New("a quote inside the quoted target")
		}
	} else if i := strings.IndexFunc(target, func(r rune) bool { return !shellSafe(r) }); i >= 0 {
		return "", fmt.Errorf("character %q in the target needs quoting", target[i])
	}
	if !path.IsAbs(target) || path.Clean(target) != target || target == "/" {
		return "", fmt.Errorf("target %q is not an absolute, clean path below /", target)
	}
	return target, nil
}

// TarCommand is the command ParseTarCommand accepts for target.
func TarCommand(target string) string {
	if strings.IndexFunc(target, func(r rune) bool { return !shellSafe(r) }) < 0 {
		return "tar -x -C " + target
	}
	return "tar -x -C '" + target + "'"
}

func shellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)
}
