package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
	"github.com/vmfsbench/vmfsbench/orchestrator/plan"
	"github.com/vmfsbench/vmfsbench/orchestrator/spec"
	"github.com/vmfsbench/vmfsbench/orchestrator/synthetic"
	"github.com/vmfsbench/vmfsbench/results"
)

// LLVM's build runs an external lit as ${Python3_EXECUTABLE} ${LLVM_EXTERNAL_LIT} <lit
// arguments> <test directories> (AddLLVM.cmake's add_lit_target), from the build directory
// or one of its test directories, with host paths into the build tree. `vmfsbench lit` takes
// those arguments, maps the paths under the tree to the guest's mountpoint and runs the
// tree's own llvm-lit there through exec.

func cmdLit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lit", stderr)
	xf := addExecFlags(fs)
	wrapper := fs.String("wrapper", "", "write `FILE`, a Python script that LLVM's build runs as -DLLVM_EXTERNAL_LIT=FILE and that runs this command with the same SPEC and --method, then exit")
	litPath := fs.String("lit", "", "the tree's llvm-lit, a host `PATH` in the tree (default: bin/llvm-lit of the nearest directory at or above the working directory that has one)")
	own, litArgs, dashes := splitCommand(args)
	files, err := parseArgs(fs, own)
	if err != nil {
		return err
	}
	if len(files) != 1 || dashes == (*wrapper != "") {
		return badArgs(fs)
	}
	e, err := loadSpec(files[0], stderr)
	if err != nil {
		return err
	}
	if *wrapper != "" {
		return writeLitWrapper(*wrapper, e, *xf.method, *xf.from, stdout)
	}
	root, err := hostTree(ctx, e)
	if err != nil {
		return usageError{err}
	}
	m := litMap{root: root, mountpoint: e.Guest.Mountpoint}
	wd, err := os.Getwd()
	if err != nil {
		return usageError{err}
	}
	cwd, ok := m.rel(wd)
	if !ok {
		return usagef("the working directory %s is not in the tree %s: run lit from the build tree, as LLVM's build does", wd, root)
	}
	lit := *litPath
	if lit == "" {
		if lit, err = findLit(m, wd); err != nil {
			return usageError{err}
		}
	} else if lit, err = filepath.Abs(lit); err != nil {
		return usageError{err}
	}
	guestLit, ok := m.guest(lit)
	if !ok {
		return usagef("--lit %s is not in the tree %s", lit, root)
	}
	argv := []string{guestLit}
	for _, a := range litArgs {
		g, outside := m.arg(a)
		if outside != "" {
			fmt.Fprintf(stderr, "vmfsbench: warning: lit argument %q names %s, outside the tree: the guest has no such path\n", a, outside)
		}
		argv = append(argv, g)
	}
	return execute(ctx, e, xf, plan.ExecRequest{Command: argv, Cwd: cwd}, stdout, stderr)
}

// hostTree is the spec's tree on the host with its symlinks resolved (a synthetic tree is
// generated when missing).
func hostTree(ctx context.Context, e *spec.Experiment) (string, error) {
	root := e.Tree.Path
	if s := e.Tree.Synthetic; s != nil {
		cache, err := kernel.CacheDir()
		if err != nil {
			return "", err
		}
		if root, err = synthetic.Ensure(ctx, cache, s.Tree()); err != nil {
			return "", err
		}
	}
	return filepath.EvalSymlinks(root)
}

// litMap maps host paths in the tree to the guest's.
type litMap struct {
	root       string // the host tree, symlinks resolved
	mountpoint string // where the guest's command sees it
}

// rel is p relative to the tree ("." for its root), and whether p is in the tree. p is
// taken with its symlinks resolved as far as it exists, as the kernel would resolve it.
func (m litMap) rel(p string) (string, bool) {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	} else if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
		p = filepath.Join(r, filepath.Base(p))
	}
	rel, err := filepath.Rel(m.root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// guest is the guest's path of the host path p in the tree.
func (m litMap) guest(p string) (string, bool) {
	rel, ok := m.rel(p)
	if !ok {
		return "", false
	}
	return path.Join(m.mountpoint, rel), true
}

// arg maps one lit argument: an absolute path in the tree, or the value of an --option=PATH
// that is one, becomes the guest's path; anything else is left as it is. outside names an
// absolute path that is not in the tree.
func (m litMap) arg(a string) (mapped, outside string) {
	prefix, p := "", a
	if strings.HasPrefix(a, "-") {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			return a, ""
		}
		prefix, p = name+"=", value
	}
	if !filepath.IsAbs(p) {
		return a, ""
	}
	if g, ok := m.guest(p); ok {
		return prefix + g, ""
	}
	return a, p
}

// findLit finds bin/llvm-lit in the nearest directory at or above wd, within the tree.
func findLit(m litMap, wd string) (string, error) {
	for d := wd; ; d = filepath.Dir(d) {
		if _, ok := m.rel(d); !ok {
			break
		}
		p := filepath.Join(d, "bin", "llvm-lit")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no bin/llvm-lit at or above %s in the tree %s: name the tree's llvm-lit with --lit", wd, m.root)
}

// writeLitWrapper writes the Python script that -DLLVM_EXTERNAL_LIT names: LLVM's build runs
// it with python3, and it replaces itself with `vmfsbench lit SPEC ... -- <its arguments>`.
func writeLitWrapper(file string, e *spec.Experiment, method, from string, stdout io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return usageError{err}
	}
	specFile, err := filepath.Abs(e.File)
	if err != nil {
		return usageError{err}
	}
	argv := []string{self, "lit", specFile}
	if method != "" {
		argv = append(argv, "--method", method)
	}
	if from != "" {
		if from, err = filepath.Abs(from); err != nil {
			return usageError{err}
		}
		argv = append(argv, "--from", from)
	}
	argv = append(argv, "--")
	q, _ := json.Marshal(argv) // a JSON list of strings is a Python list literal
	script := fmt.Sprintf(`#!/usr/bin/env python3
# Written by vmfsbench lit --wrapper. LLVM's build runs it as an external lit
# (cmake -DLLVM_EXTERNAL_LIT=%s): it runs the tree's own llvm-lit in a
# guest of %s, with lit's arguments mapped to the guest's paths.
import os
import sys

argv = %s + sys.argv[1:]
os.execv(argv[0], argv)
`, file, specFile, q)
	if err := results.WriteFileAtomic(file, []byte(script)); err != nil {
		return usageError{err}
	}
	if err := os.Chmod(file, 0o755); err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "wrote %s: cmake -DLLVM_EXTERNAL_LIT=%s, then ninja check-llvm runs lit in the guest\n", file, file)
	if strings.Contains(self, "go-build") {
		fmt.Fprintf(stdout, "warning: %s is a temporary binary of go run or go test: build vmfsbench (make build) and write the wrapper with it\n", self)
	}
	return nil
}
