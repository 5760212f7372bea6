package initramfs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/proc"
)

const (
	// modulePath is vmfsbench's Go module.
	modulePath = "github.com/vmfsbench/vmfsbench"
	// agentPackage is the guest agent's main package, relative to the module root.
	agentPackage = "./guestinit/agent"
)

// agentSources are the module directories whose Go files go into the agent; a change to any
// of them rebuilds it. The agent links nothing of orchestrator/ (TestAgentLinksNoHostCode).
var agentSources = []string{"guestinit", "internal"}

// agentBuildFlags are part of the cache key: a change here must rebuild.
var agentBuildFlags = []string{"-trimpath", "-ldflags=-s -w -buildid="}

// ErrNoSource is returned (wrapped) by BuildAgent when the binary carries no agent for the
// GOARCH and vmfsbench's source cannot be found to build one.
var ErrNoSource = errors.New("cannot find the vmfsbench source to build the guest agent")

// embeddedAgents holds the agents `make build` cross-builds into agents/ and embeds, one file
// agent-<goarch> per guest architecture (see embed.go); nil in a binary built without them,
// as by `go test` or a plain `go build`.
var embeddedAgents fs.FS

// agentMachines is the ELF machine of each GOARCH an agent is built for.
var agentMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "riscv64": elf.EM_RISCV}

// BuildAgent returns the path of the guest agent (github.com/vmfsbench/vmfsbench/guestinit/agent),
// a static Linux binary for goarch (amd64, arm64, riscv64).
//
// A vmfsbench built with `make build` carries the agents: the one for goarch is written once
// into cacheDir/agent/<goarch>-embedded-<hash>/init, the hash being its sha256, and that path
// is returned. Otherwise the agent is built from source with the Go toolchain into
// cacheDir/agent/<goarch>-<hash>/init. The hash covers the Go version, the build flags,
// go.mod, go.sum and the Go files of guestinit/ and internal/, so an edit rebuilds and
// anything else reuses the cached binary. The source is found next to this package's source
// file when the binary was built from a checkout without -trimpath, else through `go env GOMOD`
// in the working directory, else in the module cache for the version the binary was built at.
func BuildAgent(ctx context.Context, cacheDir, goarch string) (string, error) {
	if p, ok, err := embeddedAgent(embeddedAgents, cacheDir, goarch); ok || err != nil {
		return p, err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	return buildAgent(ctx, cacheDir, goarch, root, agentPackage, agentSources)
}

// embeddedAgent writes agents' agent-<goarch> into cacheDir/agent/<goarch>-embedded-<hash>/init
// unless it is there already, and returns that path; ok is false when agents has no agent for
// goarch.
func embeddedAgent(agents fs.FS, cacheDir, goarch string) (p string, ok bool, err error) {
	if agents == nil || goarch == "" {
		return "", false, nil
	}
	b, err := fs.ReadFile(agents, "agent-"+goarch)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", true, fmt.Errorf("embedded agent for %s: %w", goarch, err)
	}
	sum := sha256.Sum256(b)
	dir := filepath.Join(cacheDir, "agent", goarch+"-embedded-"+hex.EncodeToString(sum[:])[:16])
	out := filepath.Join(dir, "init")
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(b)) {
		return out, true, nil
	} else if err == nil {
		os.RemoveAll(dir) // not what an atomic write leaves: write it again
	}
	tmp, err := agentTemp(dir)
	if err != nil {
		return "", true, fmt.Errorf("embedded agent: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "init"), b, 0o755); err != nil {
		return "", true, fmt.Errorf("embedded agent: %w", err)
	}
	m, err := staticELF(filepath.Join(tmp, "init"))
	if err != nil {
		return "", true, fmt.Errorf("embedded agent for %s: %w", goarch, err)
	}
	if want, known := agentMachines[goarch]; known && m != want {
		return "", true, fmt.Errorf("embedded agent for %s is built for %v, not %v", goarch, m, want)
	}
	if err := publish(tmp, dir, out); err != nil {
		return "", true, fmt.Errorf("embedded agent: %w", err)
	}
	return out, true, nil
}

// agentTemp makes a temporary directory next to dir, to be renamed to dir by publish.
func agentTemp(dir string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(filepath.Dir(dir), ".build-")
}

// publish renames the directory tmp, which holds out's file, to dir.
func publish(tmp, dir, out string) error {
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// A concurrent vmfsbench got there first; its binary is the same.
		if fi, serr := os.Stat(out); serr == nil && fi.Mode().IsRegular() {
			return nil
		}
		return err
	}
	return nil
}

// moduleRoot finds the directory holding vmfsbench's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	var tried []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		for d := filepath.Dir(file); ; d = filepath.Dir(d) {
			if isModuleRoot(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
		tried = append(tried, "above "+file)
	}
	if out, err := goOutput(ctx, "", nil, "env", "GOMOD"); err == nil {
		if gomod := strings.TrimSpace(out); gomod != "" && gomod != os.DevNull {
			if d := filepath.Dir(gomod); isModuleRoot(d) {
				return d, nil
			}
			tried = append(tried, gomod)
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := ""
		if bi.Main.Path == modulePath {
			v = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				v = d.Version
			}
		}
		if v != "" && v != "(devel)" {
			if cache, err := goOutput(ctx, "", nil, "env", "GOMODCACHE"); err == nil {
				d := filepath.Join(strings.TrimSpace(cache), filepath.FromSlash(modulePath)+"@"+v)
				if isModuleRoot(d) {
					return d, nil
				}
				tried = append(tried, d)
			}
		}
	}
	return "", fmt.Errorf("%w (looked %s): build vmfsbench with `make build`, which embeds the guest agents, or run it from its checkout with Go installed",
		ErrNoSource, strings.Join(tried, ", "))
}

// isModuleRoot reports whether dir/go.mod declares vmfsbench's module.
func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(m), `"`) == modulePath
		}
	}
	return false
}

// buildAgent builds the main package pkg of the module at root for linux/goarch into
// cacheDir/agent/<goarch>-<hash>/init, where the hash covers srcDirs (relative to root).
func buildAgent(ctx context.Context, cacheDir, goarch, root, pkg string, srcDirs []string) (string, error) {
	if goarch == "" {
		return "", errors.New("build agent: no GOARCH")
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", fmt.Errorf("build agent: the Go toolchain is needed (or a vmfsbench built with `make build`, which embeds the guest agents): %w", err)
	}
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch, "GOWORK=off"}
	goVersion, err := goOutput(ctx, root, env, "env", "GOVERSION")
	if err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	key, err := sourceHash(root, srcDirs, strings.TrimSpace(goVersion), goarch, pkg)
	if err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	dir := filepath.Join(cacheDir, "agent", goarch+"-"+key[:16])
	out := filepath.Join(dir, "init")
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out, nil
	}
	tmp, err := agentTemp(dir)
	if err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := append([]string{"build"}, agentBuildFlags...)
	args = append(args, "-o", filepath.Join(tmp, "init"), pkg)
	if _, err := goOutput(ctx, root, env, args...); err != nil {
		return "", fmt.Errorf("build agent %s for linux/%s: %w", pkg, goarch, err)
	}
	if _, err := staticELF(filepath.Join(tmp, "init")); err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	if err := publish(tmp, dir, out); err != nil {
		return "", fmt.Errorf("build agent: %w", err)
	}
	return out, nil
}

// sourceHash hashes the build's identity and every non-test Go file under srcDirs, with
// go.mod and go.sum, by path relative to root in sorted order.
func sourceHash(root string, srcDirs []string, goVersion, goarch, pkg string) (string, error) {
	var files []string
	for _, f := range []string{"go.mod", "go.sum"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			files = append(files, f)
		}
	}
	for _, sd := range srcDirs {
		top := filepath.Join(root, filepath.FromSlash(sd))
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != top && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir // the go tool ignores these too
			}
			if d.Type().IsRegular() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
				rel, err := filepath.Rel(root, p)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", goVersion, goarch, pkg, strings.Join(agentBuildFlags, " "))
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s\x00%s\n", f, hex.EncodeToString(sum[:]))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// goOutput runs the go command in dir with extra environment and returns its stdout.
func goOutput(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	proc.Group(cmd)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}
