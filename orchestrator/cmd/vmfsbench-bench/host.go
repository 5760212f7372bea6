package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// tarFigures compares tree.WriteTar, in a child process, with GNU tar -c of the filtered
// copy: to /dev/null, and through a pipe this process drains.
func (b *bench) tarFigures(ctx context.Context) ([]figure, error) {
	gnu := []string{"tar", "-c", "--numeric-owner", fmt.Sprintf("--owner=%d", benchOwner.UID),
		fmt.Sprintf("--group=%d", benchOwner.GID), "-C", b.copy, "."}
	ours, env := b.childCommand(childTar, b.root)
	var figs []figure
	for _, mode := range []stdoutMode{toDevNull, toPipe} {
		o, r, err := b.pair(ctx, b.o.runs,
			func() (sample, error) { return timeCommand(ctx, ours, env, mode) },
			func() (sample, error) { return timeCommand(ctx, gnu, nil, mode) },
			b.root, b.copy)
		if err != nil {
			return nil, err
		}
		mine, theirs := statsOf(o), statsOf(r)
		q := theirs.best / mine.best
		f := figure{
			ours:  fmt.Sprintf("%s, %s", mbps(b.sum.Bytes, mine.best), mine),
			ref:   fmt.Sprintf("%s, %s", mbps(b.sum.Bytes, theirs.best), theirs),
			ratio: ratio(q), goal: goalAtLeast1, met: verdictOf(q >= 1),
		}
		switch mode {
		case toDevNull:
			f.name = "tar stream to /dev/null, speed vs `tar -c`"
			if f.met == missed {
				f.note = fmt.Sprintf("missed by %.0f %%, and not a like-for-like comparison: GNU tar notices that its archive is /dev/null "+
					"and then opens no file at all (the reference column is its walk alone), while tree.WriteTar reads every byte "+
					"of its %d files as it must for a real consumer; the pipe row below compares the same work.",
					(1-q)*100, b.sum.Files)
			}
		case toPipe:
			f.name = "tar stream through a pipe, speed vs `tar -c | cat`"
			if f.met == missed {
				f.note = fmt.Sprintf("missed by %.0f %%: see BENCHMARKS.md for the profile; both are bound by the system calls "+
					"(open, fstat, read, close per file, an lstat per entry in the walk).", (1-q)*100)
			}
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// walkFigures measures the walk with exclusions (paths per second) against find with the
// same exclusions pruned and an lstat per path (-printf %s), and the host digest of the
// filtered tree against sha256sum of its files on both cores.
func (b *bench) walkFigures(ctx context.Context) ([]figure, error) {
	var paths int64
	ours := func() (sample, error) {
		paths = 0
		return timeFunc(func() error {
			return tree.Walk(ctx, b.root, b.m, func(tree.Entry) error { paths++; return nil })
		})
	}
	find := findArgv(b.root, b.hidden)
	// find prints one line per path, the root's too: count them once, to check that both walk
	// the same paths.
	out, err := exec.CommandContext(ctx, find[0], find[1:]...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(find, " "), err)
	}
	found := int64(bytes.Count(out, []byte("\n"))) - 1
	// The walk takes a tenth of a second: three times the runs, the page cache warm for each.
	o, r, err := b.pair(ctx, 3*b.o.runs, ours, func() (sample, error) { return timeCommand(ctx, find, nil, toPipe) }, b.root)
	if err != nil {
		return nil, err
	}
	if found != paths {
		return nil, fmt.Errorf("find walked %d paths, tree.Walk %d: the exclusions differ", found, paths)
	}
	mine, theirs := statsOf(o), statsOf(r)
	figs := []figure{{
		name:  "tree walk with exclusions, paths/s vs `find -prune -printf %s`",
		ours:  fmt.Sprintf("%.0fk paths/s, %d paths in %s", float64(paths)/mine.best/1000, paths, mine),
		ref:   fmt.Sprintf("%.0fk paths/s, %s", float64(paths)/theirs.best/1000, theirs),
		ratio: ratio(theirs.best / mine.best),
	}}

	// The digest: one thread reading and hashing, against sha256sum on both cores.
	sha := []string{"sh", "-c", `cd "$1" && find . -type f -print0 | xargs -0 -P2 -n256 sha256sum`, "sh", b.copy}
	o, r, err = b.pair(ctx, b.o.runs,
		func() (sample, error) {
			return timeFunc(func() error { _, err := tree.DigestTree(ctx, b.root, b.m); return err })
		},
		func() (sample, error) { return timeCommand(ctx, sha, nil, toPipe) },
		b.root, b.copy)
	if err != nil {
		return nil, err
	}
	mine, theirs = statsOf(o), statsOf(r)
	f := figure{
		name:  "host digest of the filtered tree vs `sha256sum` on 2 cores",
		ours:  fmt.Sprintf("%s, %s", mbps(b.sum.Bytes, mine.best), mine),
		ref:   fmt.Sprintf("%s, %s", mbps(b.sum.Bytes, theirs.best), theirs),
		ratio: ratio(mine.best / theirs.best),
	}
	if mine.best > theirs.best {
		f.note = fmt.Sprintf("tree.DigestTree hashes on one core; parallel hashing could save up to %s of its %s here, "+
			"once per run and only for read-all specs (the ratio is time over time).", secs(mine.best-theirs.best), secs(mine.best))
	} else {
		f.note = "the ratio is time over time: one core hashing as fast as sha256sum on two says parallel hashing would not pay."
	}
	return append(figs, f), nil
}

// findArgv is find over root that prunes the hidden paths and prints each path's size (so
// it lstat's every path, as tree.Walk does).
func findArgv(root string, hidden []string) []string {
	argv := []string{"find", root}
	if len(hidden) > 0 {
		argv = append(argv, "(")
		for i, h := range hidden {
			if i > 0 {
				argv = append(argv, "-o")
			}
			argv = append(argv, "-path", filepath.Join(root, findEscape(h)))
		}
		argv = append(argv, ")", "-prune", "-o")
	}
	return append(argv, "-printf", `%s\n`)
}

// findEscape makes a path literal in a find -path pattern.
func findEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
