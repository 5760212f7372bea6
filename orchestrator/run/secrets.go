package run

import "os"

// private makes dirs 0700 whatever the umask: a cell's work directory holds its initramfs,
// whose job holds ssh-tar's host key (the host pins it to defend the loopback port against a
// local process) and the workload's environment; its sockets carry the tree. Logs stay
// readable.
func private(dirs ...string) error {
	for _, d := range dirs {
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}
