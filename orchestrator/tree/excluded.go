package tree

import (
	"context"
	"io/fs"
)

// ExcludedRoots returns the top-most excluded paths of the tree in walk order: each path the
// rules exclude whose parent is not excluded. Methods that cannot filter while they read (a
// share, an image tool with an exclude list) hide exactly these.
func ExcludedRoots(ctx context.Context, root string, m *Matcher) ([]string, error) {
	var out []string
	err := Walk(ctx, root, nil, func(e Entry) error {
		if !m.Match(e.Rel, e.Mode.IsDir()) {
			return nil
		}
		out = append(out, e.Rel)
		if e.Mode.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	return out, err
}
