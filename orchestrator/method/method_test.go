package method

import (
	"slices"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// debian12Tools are the host tools of a Debian 12 host as the probe finds them (e2fsprogs
// 1.47.0, no tar input; QEMU's C virtiofsd), so that plans in unit tests do not depend on the
// host the tests run on.
var debian12Tools = Found{
	e2fsprogs.Name: {Path: "/usr/sbin/mkfs.ext4", Version: "mke2fs 1.47.0 (5-Feb-2023)", Detail: E2fsVersion{1, 47, 0}},
	"virtiofsd":    {Path: cVirtiofsd, Version: "virtiofsd version 7.2.22", Detail: Virtiofsd{Path: cVirtiofsd, Flavor: FlavorC}},
}

func cfg(params Params) Config {
	return Config{Params: params, Tree: "/src/tree", Work: "/run/w", Sockets: "/tmp/s",
		Exclude: []string{".git"}, Hidden: []string{".git"}, CanMount: true, Tools: debian12Tools,
		Owner: &tree.Owner{UID: 1001, GID: 1001}, Mountpoint: "/root/tree", Memory: 1 << 30}
}

func TestHostCommands(t *testing.T) {
	for _, tc := range []struct {
		method string
		params Params
		want   string
	}{
		{"squashfs", Params{"compression": "none", "block_size": int64(131072)},
			"mksquashfs /src/tree /run/w/tree.sqfs -noappend -quiet -no-progress -no-xattrs -b 131072 -noI -noId -noD -noF -noX -force-uid 1001 -force-gid 1001 -wildcards -ef /run/w/exclude.list"},
		{"squashfs", Params{"compression": "zstd", "block_size": int64(1 << 20)},
			"mksquashfs /src/tree /run/w/tree.sqfs -noappend -quiet -no-progress -no-xattrs -b 1048576 -comp zstd -force-uid 1001 -force-gid 1001 -wildcards -ef /run/w/exclude.list"},
		{"erofs", Params{"compression": "lz4hc"},
			"mkfs.erofs --quiet --preserve-mtime -zlz4hc --force-uid=1001 --force-gid=1001 --exclude-path=.git /run/w/tree.erofs /src/tree"},
		{"ext4", Params{"size": "2GiB"},
			"mkfs.ext4 -q -F -t ext4 -O ^has_journal -m 0 -E lazy_itable_init=0,lazy_journal_init=0 -N 131072 " +
				"-d /run/w/view/view /run/w/tree.ext4 2097152k debugfs -w -f /run/w/ext4-fixup.debugfs /run/w/tree.ext4"},
		{"virtiofs", Params{"cache": "never", "thread_pool_size": int64(16), "daemon": "auto"},
			"/usr/lib/qemu/virtiofsd --socket-path=/tmp/s/virtiofsd.sock -o source=/src/tree -o cache=none -o sandbox=namespace --thread-pool-size=16 --rlimit-nofile=1048576"},
	} {
		m, err := Lookup(tc.method)
		if err != nil {
			t.Fatal(err)
		}
		steps := planOf(m, cfg(tc.params)).Steps
		if len(steps) != 1 {
			t.Fatalf("%s: %d host steps", tc.method, len(steps))
		}
		if got := strings.Join(slices.Concat(steps[0].Commands...), " "); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.method, got, tc.want)
		}
	}
}

func TestGuestStepsPresentTreeAtMountpoint(t *testing.T) {
	params := map[string]Params{
		"9p":         {"msize": int64(512000), "cache": "loose", "security_model": "none", "upper": "tmpfs"},
		"virtiofs":   {"cache": "auto", "queue_size": int64(1024), "upper": "disk"},
		"squashfs":   {"upper": "tmpfs"},
		"ext4":       {"size": "auto"},
		"erofs":      {"upper": "tmpfs"},
		"ssh-tar":    {"target": "tmpfs"},
		"serial-tar": {"target": "disk"},
	}
	for _, name := range Names() {
		m, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg(params[name])
		steps := planOf(m, c).Guest
		presents := false
		for _, s := range steps {
			if s.Target == c.Mountpoint {
				presents = true
			}
		}
		if !presents {
			t.Errorf("%s: no guest step targets the mountpoint: %+v", name, steps)
		}
		job := protocol.Job{Cell: name, Steps: steps, Mountpoint: c.Mountpoint}
		if err := job.Validate(); err != nil {
			t.Errorf("%s: the agent would refuse the steps: %v", name, err)
		}
		if len(planOf(m, c).Modules) == 0 && name != "serial-tar" {
			t.Errorf("%s: no modules", name)
		}
	}
	if _, err := Lookup("nfs"); err == nil {
		t.Error("Lookup(nfs) succeeded")
	}
}

func TestOwnerWarnings(t *testing.T) {
	for name, want := range map[string]bool{"9p": true, "virtiofs": true, "squashfs": false, "ext4": false} {
		m, _ := Lookup(name)
		if got := len(planOf(m, cfg(Params{})).Warnings) > 0; got != want {
			t.Errorf("%s warns about ownership: %v, want %v", name, got, want)
		}
	}
}
