package rootfs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/atomicfile"
	"github.com/vmfsbench/vmfsbench/internal/proc"
	"github.com/vmfsbench/vmfsbench/orchestrator/arch"
)

// ErrNoDebootstrap is returned (wrapped) by Build when debootstrap is not installed.
var ErrNoDebootstrap = errors.New("debootstrap not found: install it with `apt-get install debootstrap`")

// ErrNotRoot is returned (wrapped) by Build when not run as root.
var ErrNotRoot = errors.New("building a root filesystem needs root")

// keyring is Debian's archive keyring; debootstrap checks the Release file against it.
const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// basePath is the PATH of Debian's root, after the LLVM tools.
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build returns the image of r in cacheDir, building it first when it is not there: it runs
// debootstrap (minbase variant, plus r.Packages) into a temporary directory beside the
// image, adds the guest user, lit wrappers and PATH (see customize), lists what dpkg
// installed, packs the root with `mkfs.ext4 -d` into an image sized from the tree plus slack,
// checks it with e2fsck and renames it into place after its recipe file. Progress goes to log.
//
// Building needs root (debootstrap chroots and makes device files), debootstrap, e2fsprogs
// and the Debian archive: r.Mirror, or the host's apt mirror for r.Suite. An aarch64 root on
// an x86_64 host also needs qemu-user-static's binfmt handlers.
func Build(ctx context.Context, cacheDir string, r Recipe, log io.Writer) (Image, error) {
	return BuildWith(ctx, cacheDir, r, log, nil)
}

// SecondStage runs script with /bin/sh as root in the ext4 root filesystem image of arch, in
// a guest of that architecture, and returns what it printed (run.SecondStage is one).
type SecondStage func(ctx context.Context, arch, image, script string, log io.Writer) (string, error)

// BuildWith is Build that can make the root of an architecture this host cannot run
// programs of (no binfmt_misc handler): debootstrap --foreign unpacks the packages on the
// host, the image is packed, and second runs debootstrap's second stage and the
// customization in a guest of that architecture, the image attached writable.
func BuildWith(ctx context.Context, cacheDir string, r Recipe, log io.Writer, second SecondStage) (Image, error) {
	start := time.Now()
	if err := r.Validate(); err != nil {
		return Image{}, err
	}
	r = r.Normalize()
	key := r.Key()
	if img, err := Find(cacheDir, r); err == nil {
		fmt.Fprintf(log, "rootfs: %s is cached: %s (%s)\n", key, img.Path, mib(img.Size))
		return img, nil
	} else if !errors.Is(err, ErrNotBuilt) {
		return Image{}, err
	}
	foreign := second != nil && !runsHere(r.Arch)
	if err := checkHost(r.Arch, foreign); err != nil {
		return Image{}, err
	}
	hostMirror := r.Mirror == ""
	if hostMirror {
		m, err := HostMirror("/etc/apt", r.Suite)
		if err != nil {
			return Image{}, err
		}
		r.Mirror = m
	}
	if err := checkMirror(ctx, r.Mirror, r.Suite); err != nil {
		if hostMirror {
			return Image{}, fmt.Errorf("%w (the mirror of /etc/apt/sources.list*; give another as Recipe.Mirror or --mirror)", err)
		}
		return Image{}, err
	}

	dir := filepath.Join(cacheDir, "rootfs")
	a, _ := debianArch(r.Arch, r.Suite) // r is valid
	debs := filepath.Join(dir, "debs", a.Debian)
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return Image{}, fmt.Errorf("build rootfs: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "."+key+".build-")
	if err != nil {
		return Image{}, fmt.Errorf("build rootfs: %w", err)
	}
	keep := false
	defer func() {
		if keep {
			return
		}
		// debootstrap mounts /proc and /sys (and in a container /dev) in the root while it
		// works; a killed debootstrap leaves them. Never delete through a mount.
		if err := unmountUnder(tmp); err != nil {
			fmt.Fprintf(log, "rootfs: warning: leaving %s: %v\n", tmp, err)
			return
		}
		os.RemoveAll(tmp)
	}()
	root := filepath.Join(tmp, "root")

	args := []string{"--arch=" + a.Debian, "--variant=minbase", "--include=" + strings.Join(r.Packages, ","), "--cache-dir=" + debs}
	if _, err := os.Stat(keyring); err == nil {
		args = append(args, "--keyring="+keyring)
	}
	if foreign {
		args = append(args, "--foreign")
	}
	args = append(args, r.Suite, root, r.Mirror)
	fmt.Fprintf(log, "rootfs: debootstrap %s\n", strings.Join(args, " "))
	t := time.Now()
	if _, err := runCmd(ctx, prefixWriter(log, "rootfs: debootstrap: "), "", "debootstrap", args...); err != nil {
		if ctx.Err() != nil {
			return Image{}, fmt.Errorf("build rootfs %s: debootstrap interrupted: %w", key, ctx.Err())
		}
		hint := ""
		if dl, _ := os.ReadFile(filepath.Join(root, "debootstrap", "debootstrap.log")); len(dl) > 0 {
			hint = "\n" + tail(string(dl), 1500)
		}
		return Image{}, fmt.Errorf("build rootfs %s from %s: %w%s", key, r.Mirror, err, hint)
	}
	fmt.Fprintf(log, "rootfs: debootstrap done in %s\n", time.Since(t).Round(time.Millisecond))

	var installed map[string]string
	var llvmDir string
	if !foreign {
		if installed, err = dpkgList(ctx, root); err != nil {
			return Image{}, err
		}
		if llvmDir, err = customize(root); err != nil {
			return Image{}, fmt.Errorf("build rootfs %s: %w", key, err)
		}
	}
	if err := unmountUnder(tmp); err != nil {
		return Image{}, fmt.Errorf("build rootfs %s: %w", key, err)
	}

	files, used, treeBytes, err := measure(root)
	if err != nil {
		return Image{}, fmt.Errorf("build rootfs %s: %w", key, err)
	}
	inodes := files + files/4 + 4096
	// Blocks in use, plus the inode tables, journal and group metadata mkfs adds, plus a
	// fifth for the guest to write into (and for directories mkfs lays out less tightly).
	size := used + used/5 + int64(inodes)*256 + 96<<20
	if foreign {
		// The packages are still .deb files: room for them unpacked, and for dpkg.
		size, inodes = 3*used+512<<20, 4*inodes
	}
	size = (size + 1<<20 - 1) &^ (1<<20 - 1)
	imgPath, recipePath := paths(cacheDir, key)
	tmpImg := filepath.Join(tmp, "image.ext4")
	sum := sha256.Sum256([]byte(key))
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	fmt.Fprintf(log, "rootfs: mkfs.ext4 -d: %d files, %s in use, image %s\n", files, mib(used), mib(size))
	t = time.Now()
	if _, err := runCmd(ctx, nil, "", "mkfs.ext4", "-q", "-F", "-t", "ext4", "-L", "vmfsroot", "-U", uuid, "-m", "0",
		"-N", strconv.Itoa(inodes), "-d", root, tmpImg, strconv.FormatInt(size>>10, 10)+"k"); err != nil {
		return Image{}, fmt.Errorf("build rootfs %s: %w", key, err)
	}
	if foreign {
		fmt.Fprintf(log, "rootfs: the second stage in a %s guest (debootstrap --second-stage, then the guest user and paths)\n", r.Arch)
		t := time.Now()
		out, err := second(ctx, r.Arch, tmpImg, secondStageScript, prefixWriter(log, "rootfs: guest: "))
		if err != nil {
			return Image{}, fmt.Errorf("build rootfs %s: %w", key, err)
		}
		fmt.Fprintf(log, "rootfs: second stage done in %s\n", time.Since(t).Round(time.Millisecond))
		if installed = parseDpkgList([]byte(out)); len(installed) == 0 {
			return Image{}, fmt.Errorf("build rootfs %s: the second stage listed no installed package", key)
		}
		// The guest powered off without unmounting: replay the journal and tidy up. e2fsck
		// exits 1 when it corrected something, which is what -p is for.
		if _, err := runCmd(ctx, nil, "", "e2fsck", "-f", "-p", tmpImg); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				return Image{}, fmt.Errorf("build rootfs %s: e2fsck -p after the second stage: %w", key, err)
			}
		}
	}
	if _, err := runCmd(ctx, nil, "", "e2fsck", "-f", "-n", tmpImg); err != nil {
		return Image{}, fmt.Errorf("build rootfs %s: the new image fails e2fsck: %w", key, err)
	}
	fmt.Fprintf(log, "rootfs: image packed in %s\n", time.Since(t).Round(time.Millisecond))

	fi, err := os.Stat(tmpImg)
	if err != nil {
		return Image{}, fmt.Errorf("build rootfs: %w", err)
	}
	img := Image{
		Key:          key,
		Recipe:       r,
		Packages:     installed,
		Size:         fi.Size(),
		TreeBytes:    treeBytes,
		Files:        files,
		LLVMDir:      llvmDir,
		SearchPath:   searchPath(llvmDir),
		Built:        time.Now().UTC().Truncate(time.Second),
		BuildSeconds: time.Since(start).Round(time.Millisecond).Seconds(),
		Debootstrap:  debootstrapVersion(ctx),
	}
	data, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return Image{}, fmt.Errorf("build rootfs: %w", err)
	}
	if err := atomicfile.WriteFile(recipePath, append(data, '\n'), 0o644); err != nil {
		return Image{}, fmt.Errorf("build rootfs: %w", err)
	}
	if err := os.Chmod(tmpImg, 0o644); err != nil {
		return Image{}, fmt.Errorf("build rootfs: %w", err)
	}
	if err := os.Rename(tmpImg, imgPath); err != nil {
		return Image{}, fmt.Errorf("build rootfs: install %s: %w", imgPath, err)
	}
	img.Path = imgPath
	fmt.Fprintf(log, "rootfs: %s: %d packages, %s (tree %s, %d files), built in %s\n",
		imgPath, len(installed), mib(img.Size), mib(treeBytes), files, time.Since(start).Round(time.Millisecond))
	return img, nil
}

// runsHere says whether this host runs programs of the guest arch name: natively, or through a
// binfmt_misc handler.
func runsHere(name string) bool {
	guest, _ := arch.Lookup(name)
	if guest.GOARCH == runtime.GOARCH {
		return true
	}
	_, err := os.Stat("/proc/sys/fs/binfmt_misc/" + guest.UserEmulator)
	return err == nil
}

// secondStageScript finishes a --foreign root in its guest: debootstrap's second stage, then
// what customize does on the host for a native root (the guest user, the empty mountpoint,
// PATH, no package caches), and the installed packages as dpkgList reads them.
var secondStageScript = fmt.Sprintf(`set -e
/debootstrap/debootstrap --second-stage
grep -q '^%[1]s:' /etc/passwd || echo '%[1]s:x:%[2]d:%[3]d:vmfsbench guest user:%[4]s:/bin/sh' >> /etc/passwd
grep -q '^%[1]s:' /etc/group || echo '%[1]s:x:%[3]d:' >> /etc/group
if [ -f /etc/shadow ]; then grep -q '^%[1]s:' /etc/shadow || echo '%[1]s:*:19999:0:99999:7:::' >> /etc/shadow; fi
mkdir -p %[5]s && chown %[2]d:%[3]d %[4]s %[5]s
printf 'PATH="%[6]s"
LANG=C.UTF-8
' > /etc/environment
printf '# Written by vmfsbench rootfs.
export PATH="%[6]s"
' > /etc/profile.d/vmfsbench.sh
echo vmfsbench > /etc/hostname
apt-get clean
rm -rf /var/lib/apt/lists/*_*
sync
dpkg-query -W -f '${db:Status-Abbrev}	${Package}	${Version}
'
`, User, UID, GID, Home, Mountpoint, basePath)

// checkHost reports what the host lacks to build an arch root; a foreign root (finished in a
// guest) needs no binfmt_misc handler.
func checkHost(name string, foreign bool) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("build rootfs: %w: debootstrap chroots into it and makes device files; run `sudo vmfsbench rootfs build` (set XDG_CACHE_HOME to put the image in your own cache)", ErrNotRoot)
	}
	if _, err := lookPath("debootstrap"); err != nil {
		return fmt.Errorf("build rootfs: %w", ErrNoDebootstrap)
	}
	for _, t := range []string{"mkfs.ext4", "e2fsck"} {
		if _, err := lookPath(t); err != nil {
			return fmt.Errorf("build rootfs: %s not found: install it with `apt-get install e2fsprogs`", t)
		}
	}
	for _, t := range []string{"chroot", "dpkg-query"} {
		if _, err := lookPath(t); err != nil {
			return fmt.Errorf("build rootfs: %s not found: %w", t, err)
		}
	}
	if guest, _ := arch.Lookup(name); !foreign && guest.GOARCH != runtime.GOARCH {
		// debootstrap runs the root's maintainer scripts, which needs binfmt_misc's handler.
		handler := guest.UserEmulator
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/" + handler); err != nil {
			return fmt.Errorf("build rootfs: an %s root on an %s host runs its package scripts under emulation, and binfmt_misc has no %s handler: install qemu-user-static and binfmt-support", guest.Name, runtime.GOARCH, handler)
		}
	}
	return nil
}

// sbinDirs are searched after PATH: a non-root user's PATH often lacks them.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// lookPath finds a tool in PATH or in sbinDirs.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// dpkgList returns every installed package of root and its version, from dpkg-query run in
// the root (under emulation for a foreign arch, as debootstrap did).
func dpkgList(ctx context.Context, root string) (map[string]string, error) {
	out, err := runCmd(ctx, nil, "", "chroot", root, "/usr/bin/env", "-i", "PATH="+basePath,
		"dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n")
	if err != nil {
		return nil, fmt.Errorf("build rootfs: list packages: %w", err)
	}
	pkgs := parseDpkgList(out)
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("build rootfs: dpkg-query in %s lists no installed package", root)
	}
	return pkgs, nil
}

// parseDpkgList reads `status<TAB>package<TAB>version` lines and keeps installed packages
// (status "ii").
func parseDpkgList(out []byte) map[string]string {
	pkgs := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 3 && strings.TrimSpace(f[0]) == "ii" {
			pkgs[f[1]] = f[2]
		}
	}
	return pkgs
}

// llvmDirOf returns the newest /usr/lib/llvm-N of root (as a path in the root), preferring
// one that has lit, or "" when there is none.
func llvmDirOf(root string) string {
	best, bestN, bestLit := "", -1, false
	ms, _ := filepath.Glob(filepath.Join(root, "usr/lib/llvm-*/bin"))
	for _, m := range ms {
		d := filepath.Dir(m)
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "llvm-"))
		if err != nil {
			continue
		}
		_, lerr := os.Stat(filepath.Join(d, "build/utils/lit/lit.py"))
		lit := lerr == nil
		if (lit && !bestLit) || (lit == bestLit && n > bestN) {
			best, bestN, bestLit = "/usr/lib/"+filepath.Base(d), n, lit
		}
	}
	return best
}

func searchPath(llvmDir string) string {
	if llvmDir == "" {
		return basePath
	}
	return llvmDir + "/bin:" + basePath
}

// customize readies a debootstrapped root for a workload run as the guest user: user `user`
// (uid and gid 1001) with home /home/user and the empty mountpoint /home/user/llvm-project;
// `lit` and `llvm-lit` in /usr/local/bin running LLVM's lit.py; PATH with the LLVM tools first
// in /etc/environment and /etc/profile.d; empty /dev, /proc, /sys and /tmp (the guest
// mounts them); no downloaded packages or apt lists. It returns the LLVM directory, if any.
func customize(root string) (string, error) {
	if err := appendLineOnce(filepath.Join(root, "etc/passwd"), User+":", fmt.Sprintf("%s:x:%d:%d:vmfsbench guest user:%s:/bin/sh", User, UID, GID, Home)); err != nil {
		return "", err
	}
	if err := appendLineOnce(filepath.Join(root, "etc/group"), User+":", fmt.Sprintf("%s:x:%d:", User, GID)); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "etc/shadow")); err == nil {
		if err := appendLineOnce(filepath.Join(root, "etc/shadow"), User+":", User+":*:19999:0:99999:7:::"); err != nil {
			return "", err
		}
	}
	for _, d := range []string{Home, Mountpoint} {
		p := filepath.Join(root, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
		if err := os.Chown(p, UID, GID); err != nil {
			return "", err
		}
	}
	llvm := llvmDirOf(root)
	path := searchPath(llvm)
	if llvm != "" {
		if _, err := os.Stat(filepath.Join(root, llvm, "build/utils/lit/lit.py")); err == nil {
			wrapper := fmt.Sprintf("#!/bin/sh\n# lit from %s, written by vmfsbench rootfs.\nexec python3 %s/build/utils/lit/lit.py \"$@\"\n", llvm, llvm)
			for _, n := range []string{"lit", "llvm-lit"} {
				if err := os.WriteFile(filepath.Join(root, "usr/local/bin", n), []byte(wrapper), 0o755); err != nil {
					return "", err
				}
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/environment"), fmt.Appendf(nil, "PATH=%q\nLANG=C.UTF-8\n", path), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/profile.d/vmfsbench.sh"), fmt.Appendf(nil, "# Written by vmfsbench rootfs: the LLVM tools first.\nexport PATH=%q\n", path), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("vmfsbench\n"), 0o644); err != nil {
		return "", err
	}
	for _, d := range []string{"dev", "proc", "sys", "tmp"} {
		if err := emptyDir(filepath.Join(root, d)); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|fs.ModeSticky); err != nil {
		return "", err
	}
	os.RemoveAll(filepath.Join(root, "debootstrap"))
	for _, g := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"} {
		ms, _ := filepath.Glob(filepath.Join(root, g))
		for _, m := range ms {
			if err := os.Remove(m); err != nil {
				return "", err
			}
		}
	}
	return llvm, nil
}

// appendLineOnce appends line to file unless a line already starts with prefix.
func appendLineOnce(file, prefix, line string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, prefix) {
			return nil
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(data, line+"\n"...), fi.Mode().Perm())
}

// emptyDir removes what is in dir (not dir itself), refusing to cross a mount.
func emptyDir(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return os.Mkdir(dir, 0o755)
		}
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// measure walks root without following links: entries, bytes of disk blocks in use and
// bytes of regular files.
func measure(root string) (files int, used, bytes int64, err error) {
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files++
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			used += st.Blocks * 512
		}
		if fi.Mode().IsRegular() {
			bytes += fi.Size()
		}
		return nil
	})
	return files, used, bytes, err
}

func debootstrapVersion(ctx context.Context) string {
	out, err := runCmd(ctx, nil, "", "debootstrap", "--version")
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "debootstrap ")
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// runCmd runs a child in its own process group (killed whole on cancel) and returns its
// stdout. Output also goes to log when log is not nil; the error carries the end of stderr.
func runCmd(ctx context.Context, log io.Writer, dir, name string, args ...string) ([]byte, error) {
	return runCmdTo(ctx, log, log, dir, name, args...)
}

// runCmdTo is runCmd with the child's stdout and stderr also copied to two writers.
func runCmdTo(ctx context.Context, outLog, errLog io.Writer, dir, name string, args ...string) ([]byte, error) {
	if p, err := lookPath(name); err == nil {
		name = p
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	proc.Group(cmd)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if outLog != nil {
		cmd.Stdout = io.MultiWriter(&stdout, outLog)
	}
	if errLog != nil {
		cmd.Stderr = io.MultiWriter(&stderr, errLog)
	}
	if err := cmd.Run(); err != nil {
		msg := tail(stderr.String(), 2000)
		if msg == "" {
			msg = tail(stdout.String(), 2000)
		}
		if msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return stdout.Bytes(), nil
}

// prefixWriter writes each line to w with prefix in front; w nil gives nil.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	if w == nil {
		return nil
	}
	return &prefixed{w: w, prefix: prefix, start: true}
}

type prefixed struct {
	mu     sync.Mutex // stdout and stderr are copied by two goroutines
	w      io.Writer
	prefix string
	start  bool
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if p.start {
			out = append(out, p.prefix...)
			p.start = false
		}
		out = append(out, c)
		if c == '\n' {
			p.start = true
		}
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
