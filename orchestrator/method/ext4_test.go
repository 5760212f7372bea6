package method

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmfsbench/vmfsbench/internal/testenv"
	"github.com/vmfsbench/vmfsbench/orchestrator/tree"
)

// TestExt4RoutesBuildTheSameImage forces each way of building the ext4 image and checks the
// mounted image against the filtered tree, and that the host tree did not change.
func TestExt4RoutesBuildTheSameImage(t *testing.T) {
	needTool(t, "mkfs.ext4", "debugfs", "e2fsck")
	needRoot(t)
	owner := &tree.Owner{UID: 1001, GID: 1001}
	mixed := map[string][2]int{"src/a.c": {5, 6}, "llvm": {7, 8}, "src/short-link": {9, 10}, "src/ex/b": {11, 12}}
	v, verr := mke2fsVersion()
	if verr != nil {
		t.Fatal(verr)
	}
	for _, tc := range []struct {
		name    string
		route   string
		owner   *tree.Owner
		owners  map[string][2]int
		exclude bool
		work    string // "" for a temporary directory beside the tree
		logs    []string
	}{
		{"view id-mapped", RouteView, owner, nil, true, "", []string{"id-mapped 0:0 -> 1001:1001"}},
		{"view, mixed owners", RouteView, owner, mixed, true, "", []string{"several owners", "debugfs sets the owners"}},
		{"view unmapped", RouteViewUnmapped, owner, nil, true, "", []string{"debugfs sets the owners"}},
		{"view, owners kept", RouteView, nil, mixed, true, "", []string{"the owners stay"}},
		{"view, nothing excluded", RouteView, owner, nil, false, "", []string{"nothing excluded in this tree"}},
		{"staging", RouteStaging, owner, nil, true, "", []string{"route staging: a staging tree of copies", " copies (in "}},
		{"staging, owners kept", RouteStaging, nil, mixed, true, "", []string{" copies (in "}},
		{"staging on another file system", RouteStaging, owner, mixed, true, "/dev/shm", []string{" copies (in "}},
		{"direct", RouteDirect, nil, mixed, false, "", []string{"route direct"}},
		{"tar", RouteTar, owner, mixed, true, "", []string{"route tar"}},
		{"auto, nothing to change", "", nil, nil, false, "", []string{"route direct"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := trickyTree(t, tc.owners)
			before := treeState(t, root)
			c, env, log := hostConfig(t, root, Params{"size": "auto"}, tc.owner)
			if tc.route == RouteTar {
				// The host's mkfs.ext4, or on Debian 12 (1.47.0, no tar) the fetched one.
				c = withTools(Ext4{}, c)
				m, _ := c.Tools[e2fsprogs.Name].Detail.(Mke2fs)
				if !m.TarInput {
					testenv.Missing(t, "a mkfs.ext4 that reads tar: the host's is %s and `vmfsbench tool fetch e2fsprogs` fetched none (make test does)", v)
				}
				if !v.AtLeast(1, 47, 1) {
					tc.logs = append(tc.logs, "debroot/e2fsprogs/root/sbin/mke2fs -q", "debroot/e2fsprogs/root/sbin/debugfs -w")
				}
			}
			if !tc.exclude {
				c.Exclude, c.Hidden, env.Matcher = nil, nil, nil
			}
			if tc.work != "" {
				if _, err := os.Stat(tc.work); err != nil {
					testenv.Missing(t, "no %s: %v", tc.work, err)
				}
				dir, err := os.MkdirTemp(tc.work, "vmfsbench-test-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				c.Work = dir
			}
			want := treeText(t, root, env.Matcher, tc.owner)

			if err := buildExt4Route(context.Background(), ext4Argv(c), c, env, tc.route); err != nil {
				t.Fatalf("build: %v\nlog:\n%s", err, log)
			}
			image := filepath.Join(c.Work, "tree.ext4")
			if out, err := toolOutput("e2fsck", "-fn", image); err != nil {
				t.Errorf("e2fsck: %v\n%s", err, out)
			}
			got := treeText(t, mountImage(t, image, "ext4"), nil, nil)
			if got != want {
				t.Errorf("the image differs from the filtered tree:\n%s\nlog:\n%s", diffLines(want, got), log)
			}
			for _, l := range tc.logs {
				if !strings.Contains(log.String(), l) {
					t.Errorf("log lacks %q:\n%s", l, log)
				}
			}
			if after := treeState(t, root); after != before {
				t.Errorf("building the image changed the host tree")
			}
			if _, err := os.Stat(filepath.Join(c.Work, "staging")); !os.IsNotExist(err) {
				t.Errorf("staging tree left behind: %v", err)
			}
			if ents, _ := os.ReadDir(filepath.Join(c.Work, "view")); len(ents) > 0 {
				t.Errorf("view directory left behind: %v", ents)
			}
		})
	}
}

// TestExt4PlannedRouteGone: the build takes the route its plan chose, and a route that is gone
// when the cell runs (here the view, planned where vmfsbench could mount and run where it
// cannot) fails the build with that reason instead of building another way than the plan says.
func TestExt4PlannedRouteGone(t *testing.T) {
	root := trickyTree(t, nil)
	c, env, log := hostConfig(t, root, Params{"size": "auto"}, &tree.Owner{UID: 1001, GID: 1001})
	c.CanMount = true
	ts, err := MeasureTree(context.Background(), root, env.Matcher)
	if err != nil {
		t.Fatal(err)
	}
	c.Size = ts
	setup, err := Ext4{}.Plan(c)
	if err != nil {
		t.Fatal(err)
	}
	var build *Step
	for i, s := range setup.Steps {
		if s.Kind == StepBuildImage {
			build = &setup.Steps[i]
		}
	}
	if build == nil || !strings.Contains(build.Desc, "(route "+RouteView+")") {
		t.Fatalf("planned build step %+v, want one on route %s", build, RouteView)
	}
	saved := effectiveCaps
	t.Cleanup(func() { effectiveCaps = saved })
	effectiveCaps = func() uint64 { return 0 } // the run cannot mount
	_, err = build.Run(context.Background(), env)
	want := "ext4: route view, planned for this cell, cannot run here now: route unavailable: mounting needs CAP_SYS_ADMIN"
	if err == nil || err.Error() != want {
		t.Fatalf("build error %v, want %q\nlog:\n%s", err, want, log)
	}
	if strings.Contains(log.String(), "route tar") || strings.Contains(log.String(), "route staging") {
		t.Errorf("the build took another route than the plan's:\n%s", log)
	}
}

// TestExt4AutoSizeFits builds images of trees at both ends (many empty files, a few big
// ones) with the automatic size: mkfs.ext4 must find room for all of them.
func TestExt4AutoSizeFits(t *testing.T) {
	needTool(t, "mkfs.ext4", "debugfs")
	for _, tc := range []struct {
		name  string
		files int
		size  int
	}{
		{"5000 empty files", 5000, 0},
		{"6000 files of 5000 bytes", 6000, 5000},
		{"3 files of 40 MiB", 3, 40 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "tree")
			body := make([]byte, tc.size)
			for i := range body {
				body[i] = byte(i*7 + i>>9)
			}
			for i := 0; i < tc.files; i++ {
				d := filepath.Join(root, "d"+strings.Repeat("x", i%7), string(rune('a'+i%26)))
				if i%26 == 0 || i < 26*7 {
					if err := os.MkdirAll(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(filepath.Join(d, "file-with-a-longish-name-"+strings.Repeat("n", i%40)+strconv.Itoa(i)), body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m, _ := tree.NewMatcher(nil)
			c := Config{Params: Params{"size": "auto"}, Tree: root, Work: t.TempDir()}
			var log strings.Builder

			if err := buildExt4Route(context.Background(), ext4Argv(c), c, Env{Log: &log, Matcher: m}, RouteDirect); err != nil {
				t.Fatalf("%v\n%s", err, log.String())
			}
			t.Log(strings.Split(log.String(), "\n")[1])
		})
	}
}
