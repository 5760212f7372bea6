// Package atomicfile replaces files so that readers, and a crash, see either the old file or
// the whole new one: the content goes to a temporary file in the same directory, which is
// synced, closed and renamed over the name, and then the directory is synced so the rename
// itself is durable. It imports nothing of the project.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes data to name with permissions perm (not subject to the umask), replacing
// any file there atomically. The directory must exist.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	return write(name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces name atomically with what fn writes, mode 0644. fn gets the temporary
// *os.File as its writer (so io.Copy into it can use the kernel's copy paths). When fn fails
// or panics, name is left as it was and the temporary file is removed.
func Write(name string, fn func(io.Writer) error) error {
	return write(name, 0o644, fn)
}

// WritePerm is Write with mode perm, whatever the umask: 0600 for a file that holds a secret,
// which no other user may read even for a moment.
func WritePerm(name string, perm os.FileMode, fn func(io.Writer) error) error {
	return write(name, perm, fn)
}

func write(name string, perm os.FileMode, fn func(io.Writer) error) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600; Chmod sets perm exactly.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := fn(f); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	done = true
	return syncDir(dir)
}

// syncDir makes the directory entries of dir, a rename among them, durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
