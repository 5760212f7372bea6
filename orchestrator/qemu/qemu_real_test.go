package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	kernelpkg "github.com/vmfsbench/vmfsbench/orchestrator/kernel"
)

// requireQEMU returns the path of binary, or skips (CI unset) or fails
// (CI set) when it is not installed.
func requireQEMU(t *testing.T, binary string) string {
	t.Helper()
	p, err := exec.LookPath(binary)
	if err == nil {
		return p
	}
	testenv.Missing(t, "%s not found (install its Debian package): %v", binary, err)
	return ""
}

// optionalQEMU returns the path of a foreign-architecture emulator (make tools installs them),
// or ends the test (see testenv.Missing).
func optionalQEMU(t *testing.T, arch Arch) string {
	t.Helper()
	if arch == X86_64 {
		return requireQEMU(t, arch.Binary())
	}
	p, err := exec.LookPath(arch.Binary())
	if err != nil {
		testenv.Missing(t, "%s not installed, %s argv not checked against a real QEMU", arch.Binary(), arch)
	}
	return p
}

func TestRealVersion(t *testing.T) {
	bin := requireQEMU(t, X86_64.Binary())
	v, err := Version(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d+\.\d+(\.\d+)?( \(.*\))?$`).MatchString(v) {
		t.Errorf("Version() = %q, not a version", v)
	}
	t.Logf("%s: QEMU %s", bin, v)
}

// virtio PCI device types (virtio spec 5): legacy ids are 0x1000+ (net 0x1000,
// blk 0x1001, console 0x1003, 9p 0x1009), modern ids 0x1040+type.
const (
	virtioNet     = 1
	virtioBlock   = 2
	virtioConsole = 3
	virtio9P      = 9
	virtioFS      = 26
)

var legacyVirtio = map[int]int{0x1000: virtioNet, 0x1001: virtioBlock, 0x1003: virtioConsole, 0x1009: virtio9P}

// qmpVirtioTypes asks QEMU over QMP which virtio PCI devices the machine
// has; QMP answers only once QEMU has realized every device.
func qmpVirtioTypes(t *testing.T, conn net.Conn) []int {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	dec := json.NewDecoder(conn)
	read := func() map[string]json.RawMessage {
		for {
			var m map[string]json.RawMessage
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("qmp: %v", err)
			}
			if _, ok := m["event"]; !ok {
				return m
			}
		}
	}
	send := func(cmd string) map[string]json.RawMessage {
		if _, err := fmt.Fprintf(conn, `{"execute":%q}`+"\n", cmd); err != nil {
			t.Fatalf("qmp %s: %v", cmd, err)
		}
		m := read()
		if e, ok := m["error"]; ok {
			t.Fatalf("qmp %s: %s", cmd, e)
		}
		return m
	}
	if m := read(); m["QMP"] == nil {
		t.Fatalf("no qmp greeting: %v", m)
	}
	send("qmp_capabilities")
	var buses []pciBus
	if err := json.Unmarshal(send("query-pci")["return"], &buses); err != nil {
		t.Fatalf("query-pci: %v", err)
	}
	var types []int
	var walk func([]pciDevice)
	walk = func(devs []pciDevice) {
		for _, d := range devs {
			if d.ID.Vendor == 0x1af4 {
				if typ, ok := legacyVirtio[d.ID.Device]; ok {
					types = append(types, typ)
				} else if d.ID.Device >= 0x1040 {
					types = append(types, d.ID.Device-0x1040)
				}
			}
			if d.Bridge != nil {
				walk(d.Bridge.Devices)
			}
		}
	}
	for _, b := range buses {
		walk(b.Devices)
	}
	slices.Sort(types)
	return types
}

// qmpHuman runs a human monitor command over a QMP connection that qmpVirtioTypes opened
// and returns its output.
func qmpHuman(t *testing.T, conn net.Conn, command string) string {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(conn, `{"execute":"human-monitor-command","arguments":{"command-line":%q}}`+"\n", command); err != nil {
		t.Fatalf("qmp %s: %v", command, err)
	}
	dec := json.NewDecoder(conn)
	for {
		var m struct {
			Return *string          `json:"return"`
			Error  json.RawMessage  `json:"error"`
			Event  *json.RawMessage `json:"event"`
		}
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("qmp %s: %v", command, err)
		}
		if m.Error != nil {
			t.Fatalf("qmp %s: %s", command, m.Error)
		}
		if m.Return != nil {
			return *m.Return
		}
	}
}

type pciBus struct {
	Devices []pciDevice `json:"devices"`
}

type pciDevice struct {
	ID struct {
		Vendor int `json:"vendor"`
		Device int `json:"device"`
	} `json:"id"`
	Bridge *struct {
		Devices []pciDevice `json:"devices"`
	} `json:"pci_bridge"`
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startVirtiofsd starts Debian's C virtiofsd on socket, if installed.
func startVirtiofsd(t *testing.T, socket, source string) bool {
	t.Helper()
	const daemon = "/usr/lib/qemu/virtiofsd"
	if _, err := os.Stat(daemon); err != nil {
		t.Logf("%s not installed: virtiofs device not checked", daemon)
		return false
	}
	var stderr bytes.Buffer
	vm, err := Start(t.Context(), []string{daemon, "--socket-path=" + socket, "-o", "source=" + source, "-o", "cache=auto"}, nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = vm.Kill()
		_ = vm.Wait()
	})
	for range 500 {
		if _, err := os.Stat(socket); err == nil {
			return true
		}
		select {
		case <-vm.Done():
			t.Fatalf("virtiofsd exited: %v: %s", vm.Wait(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("virtiofsd did not create %s: %s", socket, stderr.String())
	return false
}

// TestRealQEMUAcceptsDevices runs the real emulator (paused with -S, on a
// dummy kernel) with every device option, checks over QMP that each device
// exists, that QEMU connected to our serial-port socket as a client, and
// that Kill leaves no process behind.
func TestRealQEMUAcceptsDevices(t *testing.T) {
	for _, arch := range Arches() {
		t.Run(string(arch), func(t *testing.T) {
			bin := optionalQEMU(t, arch)
			dir := t.TempDir()
			kernel := filepath.Join(dir, "vmlinuz")
			if err := os.WriteFile(kernel, make([]byte, 4096), 0o644); err != nil {
				t.Fatal(err)
			}
			disk := filepath.Join(dir, "disk.img")
			if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			share := filepath.Join(dir, "share")
			if err := os.Mkdir(share, 0o755); err != nil {
				t.Fatal(err)
			}
			ctl, err := Listen(filepath.Join(dir, "ctl.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer ctl.Close()
			qmp, err := Listen(filepath.Join(dir, "qmp.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer qmp.Close()

			fns := []Fn{
				WithArch(arch), WithBinary(bin), WithKernel(kernel),
				// More than 8 CPUs: aarch64 virt needs its GICv3 for that.
				WithMemory(256 << 20), WithCPUs(12),
				WithConsoleLog(filepath.Join(dir, "console.log")),
				BlockDevice(disk, true, true),
				VirtFS(share, "tree", "none", true),
				VirtioSerialPort("ctl", ctl.Path()),
				UserNet(freePort(t), 22),
				WithArgs("-S", "-chardev", "socket,id=qmp,path="+qmp.Path(), "-mon", "chardev=qmp,mode=control"),
			}
			want := []int{virtioNet, virtioBlock, virtioConsole, virtio9P}
			// The block knobs, each as far as this QEMU has it (its probe says), and on the
			// virt machines a disk on the virtio-mmio bus (not on PCI: seen in the qtree).
			knobs := Block{Direct: true, IOThread: true, Queues: 2}
			if err := ProbeFeature(t.Context(), bin, "", dir, FeatureIOURing); err == nil {
				knobs.AIO = AIOIOURing
			} else {
				t.Logf("no io_uring: %v", err)
			}
			fns = append(fns, BlockDeviceWith(disk, true, false, knobs), BlockDeviceWith(disk, false, true, Block{AIO: AIONative, Direct: true}))
			want = append(want, virtioBlock, virtioBlock)
			mmio := hasMMIO(arch, arch.Machine())
			if mmio {
				fns = append(fns, BlockDeviceWith(disk, true, false, Block{Bus: BusMMIO, Queues: 2}))
			}
			vfsSock := filepath.Join(dir, "vfs.sock")
			if startVirtiofsd(t, vfsSock, share) {
				fns = append(fns, VhostUserFS(vfsSock, "vfs", 1024))
				want = append(want, virtioFS)
			}
			argv, err := Build(fns...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { t.Logf("qemu command: %s", Quote(argv)) })

			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			vm, err := Start(ctx, argv, nil, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = vm.Kill(); _ = vm.Wait() }()
			// Stop waiting for connections as soon as QEMU exits.
			actx, acancel := context.WithCancel(ctx)
			defer acancel()
			go func() { <-vm.Done(); acancel() }()
			exited := func(what string, err error) {
				t.Helper()
				_ = vm.Kill()
				t.Fatalf("%s: %v; qemu: %v: %s", what, err, vm.Wait(), stderr.String())
			}

			conn, err := ctl.Accept(actx)
			if err != nil {
				exited("serial port connection", err)
			}
			defer conn.Close()
			qconn, err := qmp.Accept(actx)
			if err != nil {
				exited("qmp connection", err)
			}
			defer qconn.Close()
			got := qmpVirtioTypes(t, qconn)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("virtio device types = %v, want %v", got, want)
			}
			// A virtio-blk-pci has a virtio-blk-device of its own, on its own virtio-bus.
			onMMIO := regexp.MustCompile(`type virtio-mmio-bus\s+dev: virtio-blk-device`)
			if qtree := qmpHuman(t, qconn, "info qtree"); mmio != onMMIO.MatchString(qtree) {
				t.Errorf("virtio-blk-device in the qtree: %v, want %v:\n%s", !mmio, mmio, qtree)
			}

			if err := vm.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := vm.Wait(); err == nil {
				t.Error("Wait() after Kill = nil, want an exit by signal")
			}
			if GroupAlive(vm.Pid()) {
				t.Errorf("qemu's process group %d alive after Kill", vm.Pid())
			}
		})
	}
}

// TestRealBoot boots the kernel named by VMFSBENCH_KERNEL (x86_64, or the
// arch in VMFSBENCH_KERNEL_ARCH), by default the x86_64 kernel `make kernel`
// fetched, with a one-line Go /init under TCG, and checks that
// ChooseAccel("auto") with a real probe picks an accelerator that boots.
func TestRealBoot(t *testing.T) {
	testenv.NotShort(t, "booting a kernel")
	kernel := os.Getenv("VMFSBENCH_KERNEL")
	if kernel == "" {
		a := os.Getenv("VMFSBENCH_KERNEL_ARCH")
		if a == "" {
			a = "x86_64"
		}
		cache, err := kernelpkg.CacheDir()
		testenv.Need(t, "the cache directory", err)
		k, err := kernelpkg.Find(cache, a)
		testenv.Need(t, "no fetched kernel (make kernel)", err)
		kernel = k.Vmlinuz
	}
	arch := X86_64
	if a := os.Getenv("VMFSBENCH_KERNEL_ARCH"); a != "" {
		var err error
		if arch, err = ParseArch(a); err != nil {
			t.Fatal(err)
		}
	}
	bin := optionalQEMU(t, arch)
	dir := t.TempDir()
	initrd := buildInitrd(t, dir, arch)

	boot := func(ctx context.Context, accel, name string) (time.Duration, error) {
		console := filepath.Join(dir, name+".log")
		argv, err := Build(WithArch(arch), WithBinary(bin), WithAccel(accel), WithCPUs(2),
			WithMemory(512<<20), WithKernel(kernel), WithInitrd(initrd), WithConsoleLog(console))
		if err != nil {
			return 0, err
		}
		t.Logf("%s: %s", name, Quote(argv))
		var stderr bytes.Buffer
		start := time.Now()
		vm, err := Start(ctx, argv, nil, &stderr)
		if err != nil {
			return 0, err
		}
		err = vm.Wait()
		took := time.Since(start)
		log, _ := os.ReadFile(console)
		if err != nil {
			return took, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		if !bytes.Contains(log, []byte("VMFSBENCH-QEMU-TEST-INIT-OK")) {
			return took, fmt.Errorf("no init marker on the console; console log:\n%s", log)
		}
		return took, nil
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	took, err := boot(ctx, "tcg", "tcg")
	if err != nil {
		t.Fatalf("tcg boot: %v", err)
	}
	t.Logf("tcg boot to power-off: %s", took.Round(time.Millisecond))

	probe := func(ctx context.Context, accel string) error {
		_, err := boot(ctx, accel, "probe-"+accel)
		return err
	}
	accel, reason, err := ChooseAccel(ctx, "auto", probe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ChooseAccel(auto) = %s: %s", accel, reason)
	if took, err = boot(ctx, accel, "chosen-"+accel); err != nil {
		t.Fatalf("boot with the chosen accelerator %s: %v", accel, err)
	}
	t.Logf("%s boot to power-off: %s", accel, took.Round(time.Millisecond))
}

// buildInitrd compiles testdata/bootinit for arch and packs it as /init in
// a newc cpio archive.
func buildInitrd(t *testing.T, dir string, arch Arch) string {
	t.Helper()
	goarch := arch.info().GOARCH
	bin := filepath.Join(dir, "init")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/bootinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build bootinit: %v\n%s", err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	writeNewc(&buf, 1, "init", 0o100755, body)
	writeNewc(&buf, 0, "TRAILER!!!", 0, nil)
	initrd := filepath.Join(dir, "initrd.cpio")
	if err := os.WriteFile(initrd, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return initrd
}

// writeNewc writes one entry of a newc ("070701") cpio archive.
func writeNewc(buf *bytes.Buffer, ino int, name string, mode int, body []byte) {
	pad := func() {
		for buf.Len()%4 != 0 {
			buf.WriteByte(0)
		}
	}
	nlink := 1
	fmt.Fprintf(buf, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(body), 0, 0, 0, 0, len(name)+1, 0)
	buf.WriteString(name)
	buf.WriteByte(0)
	pad()
	buf.Write(body)
	pad()
}

// TestRealProbeFeatures asks the real emulators for the block features: x86_64's q35 has no
// virtio-mmio bus (QEMU's own words in the error), the virt machines have one, and an
// unknown feature is an error without starting QEMU.
func TestRealProbeFeatures(t *testing.T) {
	bin := requireQEMU(t, X86_64.Binary())
	dir := t.TempDir()
	err := ProbeFeature(t.Context(), bin, "q35", dir, FeatureMMIO)
	if err == nil || !strings.Contains(err.Error(), "virtio-bus") {
		t.Errorf("virtio-mmio on q35: %v, want QEMU's \"No 'virtio-bus' bus\"", err)
	}
	if err := ProbeFeature(t.Context(), bin, "", dir, "aio=posix"); err == nil {
		t.Error("an unknown feature probed fine")
	}
	fs := ProbeFeatures(t.Context(), bin, "q35", dir, []Feature{FeatureIOURing, FeatureNative, FeatureIOURing})
	if len(fs) != 2 {
		t.Errorf("ProbeFeatures = %v, want two features", fs)
	}
	t.Logf("x86_64: io_uring %v, native %v", fs[FeatureIOURing], fs[FeatureNative])
	for _, a := range []Arch{AArch64, RISCV64} {
		if p, err := exec.LookPath(a.Binary()); err == nil {
			if err := ProbeFeature(t.Context(), p, a.Machine(), dir, FeatureMMIO); err != nil {
				t.Errorf("%s: virtio-mmio on %s: %v", a, a.Machine(), err)
			}
			// QEMU 7.2 refuses an iothread on virtio-mmio under TCG ("ioeventfd is required
			// for iothread"); QEMU 10 (the Debian 13 lane) takes it. Either way the probe must
			// say what QEMU said.
			err := ProbeFeature(t.Context(), p, a.Machine(), dir, FeatureMMIOIOThread)
			out, _ := exec.Command(p, "-version").Output()
			old := strings.Contains(string(out), "version 7.")
			if _, kvm := os.Stat("/dev/kvm"); kvm != nil && old && (err == nil || !strings.Contains(err.Error(), "ioeventfd")) {
				t.Errorf("%s: an iothread on virtio-mmio under TCG: %v, want QEMU 7's \"ioeventfd is required\"", a, err)
			}
			if err != nil && !strings.Contains(err.Error(), "ioeventfd") {
				t.Errorf("%s: an iothread on virtio-mmio: %v, want it taken or refused for ioeventfd", a, err)
			}
			t.Logf("%s %s: iothread on virtio-mmio: %v", a, strings.SplitN(string(out), "\n", 2)[0], err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Errorf("the probes left %v", left)
	}
}
