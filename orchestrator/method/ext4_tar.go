package method

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/tmpdir"
)

// Mke2fs is what the host probe finds of mkfs.ext4: its version and whether it builds an
// image from a tar stream (`mkfs.ext4 -d -`): e2fsprogs 1.47.1 and later do, through
// libarchive, which they load with dlopen (Debian's libarchive13, which e2fsprogs only
// suggests).
type Mke2fs struct {
	Version  E2fsVersion
	TarInput bool
	TarWhy   string // why not, when TarInput is false
	// Mkfs and Debugfs, when set, run the e2fsprogs fetched from Debian's archive (vmfsbench
	// tool fetch e2fsprogs) through the host's loader with the fetched libraries: the host's
	// own mkfs.ext4 reads no tar. Origin then says what was fetched; "host" otherwise.
	Mkfs, Debugfs []string
	Origin        string
}

// fetchedMke2fs is the mke2fs of the root `vmfsbench tool fetch e2fsprogs` makes; debugfs is
// beside it.
const fetchedMke2fs = "sbin/mke2fs"

// probeFetchedMke2fs is the fetched e2fsprogs as a Mke2fs, when it is fetched and reads tar.
func probeFetchedMke2fs(ctx context.Context) (string, Mke2fs, bool) {
	path := fetched("e2fsprogs", fetchedMke2fs)
	if path == "" {
		return "", Mke2fs{}, false
	}
	loader, origin := fetchedLoader(path)
	mkfs := append(slices.Clone(loader), path)
	line := AskVersion(ctx, "", mkfs[0], append(mkfs[1:], "-V")...)
	v, err := ParseMke2fsVersion(line)
	if err != nil || !v.AtLeast(1, 47, 1) {
		return "", Mke2fs{}, false
	}
	m := Mke2fs{Version: v, Mkfs: mkfs, Debugfs: append(slices.Clone(loader), filepath.Join(filepath.Dir(path), "debugfs")), Origin: origin}
	m.TarInput, m.TarWhy = tarInput(ctx, mkfs)
	return line + " (tar input; " + origin + ")", m, m.TarInput
}

// tarInput builds a tiny image from a one-file tar stream: the only sure way to know that
// mkfs.ext4 finds libarchive.
func tarInput(ctx context.Context, mkfs []string) (bool, string) {
	dir, err := tmpdir.Make("mke2fs")
	if err != nil {
		return false, err.Error()
	}
	defer os.RemoveAll(dir)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := []byte("vmfsbench\n")
	tw.WriteHeader(&tar.Header{Name: "probe", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, mkfs[0], append(mkfs[1:], "-q", "-F", "-t", "ext4", "-d", "-", filepath.Join(dir, "probe.ext4"), "1024k")...)
	cmd.Stdin = &b
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		why := strings.TrimSpace(string(out))
		if why == "" {
			why = err.Error()
		}
		if strings.Contains(why, "libarchive") {
			why += " (install libarchive13)"
		}
		return false, fmt.Sprintf("mkfs.ext4 -d - failed: %s", why)
	}
	return true, ""
}

// Facts implements Facter: the route the image is built by.
func (Ext4) Facts(c Config) map[string]string {
	f := map[string]string{"ext4_route": ext4Route(c)}
	if m, ok := c.Tools[e2fsprogs.Name].Detail.(Mke2fs); ok {
		if !m.TarInput && m.TarWhy != "" {
			f["ext4_tar_input"] = m.TarWhy
		}
		f["mke2fs"] = m.Version.String() + " " + cmp.Or(m.Origin, "host")
	}
	return f
}
