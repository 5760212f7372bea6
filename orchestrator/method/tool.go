package method

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/debarchive"
	"github.com/vmfsbench/vmfsbench/orchestrator/kernel"
)

// Tool is a host program a method's cells run, with where to find it and how to ask its
// version. The host probe finds every tool once, before planning.
type Tool struct {
	// Name keys the tool in Found and in the run's metadata (e.g. "mksquashfs").
	Name string
	// Package is the Debian package that installs it, for the error when it is missing.
	Package string
	// Paths are where to look, in order: a bare name is looked up on PATH; empty means Name.
	Paths []string
	// VersionArgs ask the program its version (default --version); the line that looks like
	// a version is kept, whatever the exit status.
	VersionArgs []string
	// Probe, when set, replaces VersionArgs: it asks the program found at path for its
	// version and anything the method needs to know of it (Detail).
	Probe func(ctx context.Context, path string) (version string, detail any, err error)
}

// Found is the host's tools, by Tool.Name.
type Found map[string]HostTool

// HostTool is a tool as the host probe found it.
type HostTool struct {
	Path    string // "" when missing
	Version string
	Detail  any   // what Tool.Probe said besides the version
	Err     error // why it cannot be used (missing, not what it should be)
}

// Missing returns the error of a tool that cannot be used, naming its package.
func (t Tool) Missing(err error) error {
	if t.Package == "" {
		return err
	}
	return fmt.Errorf("%w (Debian package %s)", err, t.Package)
}

// FindTool looks for t on the host and asks its version.
func FindTool(ctx context.Context, t Tool) HostTool {
	paths := t.Paths
	if len(paths) == 0 {
		paths = []string{t.Name}
	}
	var tried []string
	for _, p := range paths {
		lp, err := exec.LookPath(p)
		if err != nil {
			tried = append(tried, p)
			continue
		}
		h := HostTool{Path: lp}
		if t.Probe != nil {
			h.Version, h.Detail, h.Err = t.Probe(ctx, lp)
		} else {
			args := t.VersionArgs
			if len(args) == 0 {
				args = []string{"--version"}
			}
			h.Version = AskVersion(ctx, "", lp, args...)
		}
		if h.Err == nil || len(paths) == 1 {
			return h
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", p, h.Err))
	}
	what := "is not on PATH"
	if len(paths) == 1 && strings.Contains(paths[0], "/") {
		what = "is not an executable file"
		if _, err := os.Stat(paths[0]); err != nil {
			what = "does not exist"
		}
	}
	if len(paths) > 1 {
		what = "was not found (tried " + strings.Join(tried, ", ") + ")"
	}
	name := paths[0]
	if len(paths) > 1 {
		name = t.Name
	}
	return HostTool{Err: t.Missing(fmt.Errorf("%s %s", name, what))}
}

var versionRE = regexp.MustCompile(`\d+\.\d+`)

// AskVersion runs path with args in dir and returns the first line of its output that holds
// a version number (tools print banners first), "unknown: <first line>" when none does.
// The exit status is ignored: mke2fs -V and old mkfs.erofs exit non-zero after printing.
func AskVersion(ctx context.Context, dir, path string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	out, _ := cmd.CombinedOutput()
	return pickVersion(string(out))
}

// pickVersion is the first line of out that holds a version number, "unknown: <first line>"
// when none does.
func pickVersion(out string) string {
	first := ""
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if first == "" {
			first = l
		}
		if versionRE.MatchString(l) {
			return l
		}
	}
	if first == "" {
		return "unknown"
	}
	return "unknown: " + first
}

// cacheDir is vmfsbench's cache, where `vmfsbench tool fetch` puts the tools it takes from
// Debian's archive; tests replace it.
var cacheDir = func() string {
	d, _ := kernel.CacheDir()
	return d
}

// fetched is where the root fetched as bundle (vmfsbench tool fetch NAME) has program, "" when
// it is not fetched.
func fetched(bundle, program string) string {
	return debarchive.Program(cacheDir(), bundle, program)
}

// fetchedLoader is what runs the program at path when a root fetched from Debian's archive
// holds it, its loader and library path, and where it comes from; nil and "host" for a
// program of the host's.
func fetchedLoader(path string) (loader []string, origin string) {
	r, prog, ok := debarchive.Holding(cacheDir(), path)
	if !ok {
		return nil, "host"
	}
	argv, err := r.Command(prog)
	if err != nil {
		return nil, r.Origin() // run directly, the probe then says why it fails
	}
	return argv[:len(argv)-1], r.Origin()
}
