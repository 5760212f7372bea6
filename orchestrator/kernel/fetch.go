package kernel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/proc"
	archtab "github.com/vmfsbench/vmfsbench/orchestrator/arch"
)

// ErrNoApt is returned (wrapped) by Fetch when the host lacks the Debian tools it drives.
var ErrNoApt = errors.New("fetching a kernel needs apt-get, apt-cache and dpkg-deb")

// listsMaxAge is how old Fetch's private apt lists may get before it refreshes them. Debian's
// security archive replaces the kernel package every few weeks and drops the old .deb, so
// lists much older than this name a file that is no longer there.
const listsMaxAge = 24 * time.Hour

// Fetch makes sure Debian 12's current standard kernel for arch ("x86_64" or "aarch64") is in
// cacheDir and returns it. It asks apt which linux-image-<version>-<debarch> package the
// linux-image-<debarch> metapackage depends on (the standard flavour: the cloud kernel lacks 9p);
// when that version is cached it returns it without downloading. Otherwise it runs
// `apt-get download` and `dpkg-deb -x` and installs vmlinuz and lib/modules/<version> (no
// firmware) under cacheDir/kernels/<arch>/<version> through a temporary directory and a rename.
// Progress and the result go to log.
//
// Nothing on the host is changed and no root is needed: apt runs with private lists and state
// in cacheDir/apt/<debarch> (the host's sources and apt.conf.d, minus its update hooks), so a
// foreign arch needs no `dpkg --add-architecture` and a non-root user needs no sudo.
func Fetch(ctx context.Context, cacheDir, arch string, log io.Writer) (Kernel, error) {
	start := time.Now()
	darch, err := debianArch(arch)
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	if err := checkTools(); err != nil {
		return Kernel{}, err
	}
	a, _ := archtab.Lookup(arch)
	apt, err := newAptState(cacheDir, darch, a.KernelSuite)
	if err != nil {
		return Kernel{}, err
	}
	if err := apt.refresh(ctx, log); err != nil {
		return Kernel{}, err
	}
	pkg, err := apt.kernelPackage(ctx)
	if err != nil {
		return Kernel{}, err
	}
	version := strings.TrimPrefix(pkg, "linux-image-")
	if k, err := cached(cacheDir, arch, version); err == nil {
		fmt.Fprintf(log, "kernel: %s %s is cached: %s, %s\n", arch, version, k.Vmlinuz, k.ModulesDir)
		return k, nil
	}

	dir := archDir(cacheDir, arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".fetch-"+version+"-")
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	defer os.RemoveAll(tmp)

	dl := filepath.Join(tmp, "deb")
	if err := os.Mkdir(dl, 0o755); err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	fmt.Fprintf(log, "kernel: downloading %s (%s) with apt-get\n", pkg, darch)
	t := time.Now()
	if _, err := apt.run(ctx, log, dl, "apt-get", "-q", "download", pkg); err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel %s: %w (if the archive no longer has it, remove %s and retry)", pkg, err, apt.dir)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) != 1 {
		return Kernel{}, fmt.Errorf("fetch kernel %s: apt-get download left %d .deb files in %s", pkg, len(debs), dl)
	}
	debInfo, err := os.Stat(debs[0])
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	fmt.Fprintf(log, "kernel: got %s (%s) in %s\n", filepath.Base(debs[0]), mib(debInfo.Size()), time.Since(t).Round(time.Millisecond))

	t = time.Now()
	x := filepath.Join(tmp, "x")
	if _, err := runCmd(ctx, nil, "", "dpkg-deb", "-x", debs[0], x); err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: extract %s: %w", debs[0], err)
	}
	stage := filepath.Join(tmp, "stage")
	if err := install(x, stage, version); err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel %s: %w", pkg, err)
	}
	modules := filepath.Join(stage, "lib", "modules", version)
	if _, err := os.Stat(filepath.Join(modules, "modules.dep")); errors.Is(err, fs.ErrNotExist) {
		// The .deb ships no modules.dep: the postinst generates it with depmod.
		if _, err := exec.LookPath("depmod"); err != nil {
			return Kernel{}, fmt.Errorf("fetch kernel %s: the package has no modules.dep and depmod is missing (install kmod): %w", pkg, err)
		}
		if _, err := runCmd(ctx, nil, "", "depmod", "-b", stage, version); err != nil {
			return Kernel{}, fmt.Errorf("fetch kernel %s: depmod: %w", pkg, err)
		}
	}
	if err := os.WriteFile(filepath.Join(stage, "package"), []byte(pkg+"\n"), 0o644); err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	final := filepath.Join(dir, version)
	if err := os.Rename(stage, final); err != nil {
		// Another Fetch may have installed the same version meanwhile: that one is as good.
		if k, cerr := cached(cacheDir, arch, version); cerr == nil {
			return k, nil
		}
		return Kernel{}, fmt.Errorf("fetch kernel: install %s: %w", final, err)
	}
	k, err := cached(cacheDir, arch, version)
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	vi, _ := os.Stat(k.Vmlinuz)
	n, size, err := treeSize(k.ModulesDir)
	if err != nil {
		return Kernel{}, fmt.Errorf("fetch kernel: %w", err)
	}
	fmt.Fprintf(log, "kernel: extracted in %s\n", time.Since(t).Round(time.Millisecond))
	fmt.Fprintf(log, "kernel: %s %s from %s %s\n", arch, version, pkg, apt.version(ctx, pkg))
	fmt.Fprintf(log, "kernel:   vmlinuz %s (%s)\n", k.Vmlinuz, mib(vi.Size()))
	fmt.Fprintf(log, "kernel:   modules %s (%d files, %s)\n", k.ModulesDir, n, mib(size))
	fmt.Fprintf(log, "kernel: done in %s\n", time.Since(start).Round(time.Millisecond))
	return k, nil
}

func checkTools() error {
	var missing []string
	for _, t := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		return fmt.Errorf("fetch kernel: %w; %s not found and this is not a Debian host: give the kernel in guest.kernel and guest.modules", ErrNoApt, strings.Join(missing, ", "))
	}
	return fmt.Errorf("fetch kernel: %w; %s not found: install apt and dpkg", ErrNoApt, strings.Join(missing, ", "))
}

// install moves the kernel image and the module tree of an extracted package into stage.
func install(x, stage, version string) error {
	var img, mods string
	// Debian 12 ships /lib/modules; later releases ship /usr/lib/modules.
	for _, p := range []string{"lib/modules", "usr/lib/modules"} {
		d := filepath.Join(x, p, version)
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			mods = d
			break
		}
	}
	if mods == "" {
		return fmt.Errorf("package has no lib/modules/%s", version)
	}
	for _, p := range []string{"boot/vmlinuz-" + version, "boot/vmlinux-" + version} {
		if fi, err := os.Stat(filepath.Join(x, p)); err == nil && fi.Mode().IsRegular() {
			img = filepath.Join(x, p)
			break
		}
	}
	if img == "" {
		return fmt.Errorf("package has no boot/vmlinuz-%s", version)
	}
	if err := os.MkdirAll(filepath.Join(stage, "lib", "modules"), 0o755); err != nil {
		return err
	}
	// dpkg-deb keeps the package's modes; the image is 0600 in some packages.
	if err := os.Chmod(img, 0o644); err != nil {
		return err
	}
	if err := os.Rename(img, filepath.Join(stage, "vmlinuz")); err != nil {
		return err
	}
	return os.Rename(mods, filepath.Join(stage, "lib", "modules", version))
}

func treeSize(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files++
			bytes += fi.Size()
		}
		return nil
	})
	return files, bytes, err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// aptState is a private apt configuration for one Debian arch: the host's sources and
// configuration, with lists, status and caches in dir and the host's update hooks cleared.
type aptState struct {
	dir, darch, conf string
}

func newAptState(cacheDir, darch, suite string) (*aptState, error) {
	dir := filepath.Join(cacheDir, "apt", darch)
	if suite != "" {
		dir = filepath.Join(cacheDir, "apt", darch+"-"+suite)
	}
	a := &aptState{dir: dir, darch: darch, conf: filepath.Join(dir, "apt.conf")}
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("apt state: %w", err)
		}
	}
	status := filepath.Join(dir, "status")
	if _, err := os.Stat(status); err != nil {
		if err := os.WriteFile(status, nil, 0o644); err != nil {
			return nil, fmt.Errorf("apt state: %w", err)
		}
	}
	// Given with -c, this file is read after apt.conf.d, so #clear drops the host's update
	// hooks (docker-clean, appstream, packagekit): they act on the host's state, not ours.
	conf := fmt.Sprintf(`#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
APT::Architecture %q;
#clear APT::Architectures;
APT::Architectures { %q; };
Dir::State %q;
Dir::State::Lists %q;
Dir::State::status %q;
Dir::Cache %q;
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled "false";
Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";
`, darch, darch, dir, filepath.Join(dir, "lists"), status, filepath.Join(dir, "cache"))
	if suite != "" {
		// The suite is not the host's: its own sources list, from the host's Debian mirror.
		list := filepath.Join(dir, "sources.list")
		parts := filepath.Join(dir, "sources.list.d")
		if err := os.MkdirAll(parts, 0o755); err != nil {
			return nil, fmt.Errorf("apt state: %w", err)
		}
		src := fmt.Sprintf("deb [arch=%s signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n", darch, hostMirror(), suite)
		if err := os.WriteFile(list, []byte(src), 0o644); err != nil {
			return nil, fmt.Errorf("apt state: %w", err)
		}
		conf += fmt.Sprintf("Dir::Etc::sourcelist %q;\nDir::Etc::sourceparts %q;\n", list, parts)
	}
	if os.Geteuid() == 0 {
		// apt would drop to _apt, which cannot write into root's private dirs; it then
		// downloads as root anyway, with a warning per file.
		conf += "APT::Sandbox::User \"root\";\n"
	}
	if err := os.WriteFile(a.conf, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("apt state: %w", err)
	}
	return a, nil
}

// refresh runs `apt-get update` on the private lists when they are missing or older than
// listsMaxAge. A failed refresh over existing lists is logged and the old lists are used.
func (a *aptState) refresh(ctx context.Context, log io.Writer) error {
	stamp := filepath.Join(a.dir, "updated")
	fi, err := os.Stat(stamp)
	if err == nil && time.Since(fi.ModTime()) < listsMaxAge {
		return nil
	}
	fmt.Fprintf(log, "kernel: updating private apt lists for %s in %s\n", a.darch, a.dir)
	t := time.Now()
	if _, uerr := a.run(ctx, log, a.dir, "apt-get", "-q", "update"); uerr != nil {
		if err == nil {
			fmt.Fprintf(log, "kernel: warning: apt-get update failed, using lists from %s: %v\n", fi.ModTime().Format(time.RFC3339), uerr)
			return nil
		}
		return fmt.Errorf("fetch kernel: apt lists for %s: %w", a.darch, uerr)
	}
	fmt.Fprintf(log, "kernel: apt lists updated in %s\n", time.Since(t).Round(time.Millisecond))
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		return fmt.Errorf("fetch kernel: %w", err)
	}
	now := time.Now()
	return os.Chtimes(stamp, now, now)
}

// Debian 12 names its kernels linux-image-6.1.0-28-amd64, Debian 13 linux-image-6.12.48+deb13-riscv64.
var kernelDep = regexp.MustCompile(`^\s*\|?Depends:\s*(linux-image-(\d+\.\d+\.\d+(?:-\d+|\+deb\d+))-(\S+))\s*$`)

// hostMirror is the Debian archive of the host's apt sources (not its security archive),
// so that a kernel of another suite comes from the same mirror.
func hostMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*")
	for _, f := range append([]string{"/etc/apt/sources.list"}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if !strings.HasPrefix(l, "deb ") && !strings.HasPrefix(l, "URIs:") {
				continue
			}
			for _, w := range strings.Fields(l) {
				if (strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://")) &&
					strings.HasSuffix(strings.TrimSuffix(w, "/"), "/debian") {
					return strings.TrimSuffix(w, "/")
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// kernelPackage returns the versioned standard kernel package the linux-image-<debarch>
// metapackage depends on. Only linux-image-<release>-<debarch> qualifies, which leaves out
// the -cloud- and -rt- flavours.
func (a *aptState) kernelPackage(ctx context.Context) (string, error) {
	meta := "linux-image-" + a.darch
	out, err := a.run(ctx, nil, "", "apt-cache", "depends", meta)
	if err != nil {
		return "", fmt.Errorf("fetch kernel: %w", err)
	}
	pkg := pickKernel(out, a.darch)
	if pkg == "" {
		return "", fmt.Errorf("fetch kernel: %s depends on no linux-image-<version>-%s package:\n%s", meta, a.darch, out)
	}
	return pkg, nil
}

// pickKernel returns the newest linux-image-<release>-<darch> named in `apt-cache depends`
// output, or "".
func pickKernel(out []byte, darch string) string {
	var pkgs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := kernelDep.FindStringSubmatch(sc.Text()); m != nil && m[3] == darch {
			pkgs = append(pkgs, m[1])
		}
	}
	if len(pkgs) == 0 {
		return ""
	}
	sort.Slice(pkgs, func(i, j int) bool { return versionLess(pkgs[i], pkgs[j]) })
	return pkgs[len(pkgs)-1]
}

// version returns the Debian version of pkg's candidate, or "" when apt cannot say.
func (a *aptState) version(ctx context.Context, pkg string) string {
	out, err := a.run(ctx, nil, "", "apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return ""
	}
	var v, size string
	for _, l := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(l, "Version: "); ok && v == "" {
			v = s
		}
		if s, ok := strings.CutPrefix(l, "Size: "); ok && size == "" {
			size = s
		}
	}
	if n, err := strconv.ParseInt(size, 10, 64); err == nil {
		return fmt.Sprintf("%s (.deb %s)", v, mib(n))
	}
	return v
}

func (a *aptState) run(ctx context.Context, log io.Writer, dir, name string, args ...string) ([]byte, error) {
	return runCmd(ctx, log, dir, name, append([]string{"-c", a.conf}, args...)...)
}

// runCmd runs a child in its own process group (killed whole on cancel) and returns its
// stdout. Output also goes to log when log is not nil; the error carries the end of stderr.
func runCmd(ctx context.Context, log io.Writer, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	proc.Group(cmd)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if log != nil {
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, log), io.MultiWriter(&stderr, log)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		if msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return stdout.Bytes(), nil
}
