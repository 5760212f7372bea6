package initramfs

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func names(mods []Module) []string {
	out := []string{}
	for _, m := range mods {
		out = append(out, m.Name)
	}
	return out
}

func TestModuleClosure(t *testing.T) {
	dir := filepath.Join("testdata", "modules")
	tests := []struct {
		name  string
		in    []string
		want  []string
		paths map[string]string // spot checks of Module.Path
		err   []string          // substrings of the error
	}{
		{name: "none", in: nil, want: []string{}},
		{name: "leaf", in: []string{"9pnet"}, want: []string{"9pnet"}},
		{name: "9p", in: []string{"9p"}, want: []string{"netfs", "fscache", "9pnet", "9p"},
			paths: map[string]string{"9p": "kernel/fs/9p/9p.ko", "netfs": "kernel/fs/netfs/netfs.ko"}},
		{name: "shared deps once", in: []string{"9p", "9pnet_virtio"},
			want: []string{"netfs", "fscache", "9pnet", "9p", "virtio_ring", "virtio", "9pnet_virtio"}},
		{name: "order of names kept", in: []string{"9pnet_virtio", "9p"},
			want: []string{"virtio_ring", "virtio", "9pnet", "9pnet_virtio", "netfs", "fscache", "9p"}},
		{name: "virtio_net", in: []string{"virtio_net"},
			want: []string{"virtio_ring", "virtio", "failover", "net_failover", "virtio_net"}},
		{name: "dash is underscore", in: []string{"9pnet-virtio", "crc32c_intel"},
			want:  []string{"virtio_ring", "virtio", "9pnet", "9pnet_virtio", "crc32c_intel"},
			paths: map[string]string{"crc32c_intel": "kernel/arch/x86/crypto/crc32c-intel.ko.xz"}},
		{name: "named twice", in: []string{"9pnet", "9pnet"}, want: []string{"9pnet"}},
		{name: "compressed", in: []string{"erofs"}, want: []string{"libcrc32c", "erofs"},
			paths: map[string]string{"erofs": "kernel/fs/erofs/erofs.ko.zst", "libcrc32c": "kernel/lib/libcrc32c.ko.xz"}},
		{name: "builtin is satisfied", in: []string{"ext4", "rng_core", "crc32"}, want: []string{}},
		{name: "builtin among modules", in: []string{"ext4", "erofs"}, want: []string{"libcrc32c", "erofs"}},
		{name: "list not closed", in: []string{"open"}, want: []string{"virtio_ring", "virtio", "open"}},
		{name: "unknown", in: []string{"nope", "ext4", "also-nope"},
			err: []string{`modules "nope", "also-nope" are not in`, dir}},
		{name: "unknown single", in: []string{"nope"}, err: []string{`module "nope" is not in ` + dir}},
		{name: "cycle", in: []string{"a"}, err: []string{"dependency cycle", "a -> b -> a"}},
		{name: "missing dependency", in: []string{"broken"}, err: []string{`broken needs "missing"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ModuleClosure(dir, tt.in)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("ModuleClosure(%v) = %v, want an error", tt.in, names(got))
				}
				for _, s := range tt.err {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("ModuleClosure(%v) error %q does not contain %q", tt.in, err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), tt.want) {
				t.Errorf("ModuleClosure(%v) = %v, want %v", tt.in, names(got), tt.want)
			}
			for _, m := range got {
				if p, ok := tt.paths[m.Name]; ok && m.Path != p {
					t.Errorf("module %s: Path = %q, want %q", m.Name, m.Path, p)
				}
			}
		})
	}
}

func TestModuleClosureNoModulesDep(t *testing.T) {
	dir := t.TempDir()
	_, err := ModuleClosure(dir, []string{"9p"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "modules.dep")) {
		t.Fatalf("ModuleClosure() error = %v, want one naming modules.dep", err)
	}
}
