package run

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmfsbench/vmfsbench/orchestrator/method"
)

// TestImageCache: a stored image is used again by the same step of another cell (its work
// directory named differently), not by a step with other commands or another tree, and the
// cache keeps only the newest Keep images.
func TestImageCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	var notes []string
	ic := &ImageCache{Dir: dir, Tree: "t1", Salt: "s", Keep: 2, Note: func(f string, a ...any) { notes = append(notes, f) }}
	step := func(work, opt string) method.Step {
		img := filepath.Join(work, "tree.img")
		return method.Step{Kind: method.StepBuildImage, Commands: [][]string{{"mkfs", opt, img, "/src"}}, Images: []string{img}}
	}
	work1 := t.TempDir()
	if ok, err := ic.Use(step(work1, "-a"), work1); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	os.WriteFile(filepath.Join(work1, "tree.img"), []byte("image a"), 0o644)
	if err := ic.Store(step(work1, "-a"), work1); err != nil {
		t.Fatal(err)
	}
	work2 := t.TempDir()
	if ok, err := ic.Use(step(work2, "-a"), work2); !ok || err != nil {
		t.Fatalf("same step, other work directory: %v %v", ok, err)
	}
	if b, _ := os.ReadFile(filepath.Join(work2, "tree.img")); string(b) != "image a" {
		t.Errorf("used image holds %q", b)
	}
	work3 := t.TempDir()
	if ok, _ := ic.Use(step(work3, "-b"), work3); ok {
		t.Error("another command used the image")
	}
	other := *ic
	other.Tree = "t2"
	if ok, _ := other.Use(step(work3, "-a"), work3); ok {
		t.Error("another tree used the image")
	}
	for _, opt := range []string{"-b", "-c"} {
		w := t.TempDir()
		os.WriteFile(filepath.Join(w, "tree.img"), []byte(opt), 0o644)
		time.Sleep(20 * time.Millisecond) // distinct use times
		if err := ic.Store(step(w, opt), w); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("%d images kept, want 2", len(ents))
	}
	if w := t.TempDir(); func() bool { ok, _ := ic.Use(step(w, "-a"), w); return ok }() {
		t.Error("the oldest image was not removed")
	}
	if !strings.Contains(strings.Join(notes, "\n"), "reused") {
		t.Errorf("no note of the reuse: %q", notes)
	}
}
