package debarchive

// Bundles are the roots `vmfsbench tool fetch` makes, by name.
var Bundles = map[string]Bundle{
	// The Rust virtiofsd, which Debian 12 lacks (QEMU 7.2's C daemon keeps a descriptor per
	// inode and cannot serve a tree over its open-file limit): Debian 13's, with its C library.
	"virtiofsd": {Name: "virtiofsd", Suites: []string{"trixie"}, Want: []string{"virtiofsd"},
		Programs: []string{"usr/libexec/virtiofsd"}},
	// e2fsprogs that reads tar (mkfs.ext4 -d -, 1.47.1 and later), built for Debian 12, and
	// libarchive13, which it loads with dlopen, when the host lacks either.
	"e2fsprogs": {Name: "e2fsprogs", Suites: []string{"bookworm-backports", "bookworm"},
		Want: []string{"e2fsprogs (>= 1.47.1)", "libarchive13"}, Programs: []string{"sbin/mke2fs", "sbin/debugfs"}, ForHost: true},
}
