package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// entries returns the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func check(t *testing.T, name, want string, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(name)
	if err != nil || string(got) != want {
		t.Fatalf("%s holds %q, %v; want %q", name, got, err, want)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), perm)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.json")
	if err := WriteFile(name, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	check(t, name, "one", 0o640)
	if err := WriteFile(name, []byte("two, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	check(t, name, "two, longer", 0o644)
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("dir holds %q, want only a.json", got)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "initrd")
	err := Write(name, func(w io.Writer) error {
		if _, err := io.WriteString(w, "base"); err != nil {
			return err
		}
		_, err := io.WriteString(w, "+job")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check(t, name, "base+job", 0o644)
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "new")
	boom := errors.New("boom")
	err := Write(name, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write error = %v, want boom wrapped", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("a failed write left %q", got)
	}
}

func TestFailedWriteKeepsOld(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "old")
	if err := WriteFile(name, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Write(name, func(w io.Writer) error {
		io.WriteString(w, "new")
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("Write succeeded though its writer failed")
	}
	check(t, name, "old", 0o600)
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("dir holds %q, want only old", got)
	}
}

func TestPanicLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	func() {
		defer func() { recover() }()
		Write(filepath.Join(dir, "x"), func(io.Writer) error { panic("writer panics") })
	}()
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("a panicking writer left %q", got)
	}
}

func TestMissingDir(t *testing.T) {
	name := filepath.Join(t.TempDir(), "no", "such", "file")
	if err := WriteFile(name, nil, 0o644); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile in a missing directory = %v, want ErrNotExist", err)
	}
}
