package tree

import (
	"context"

	"github.com/vmfsbench/vmfsbench/internal/treewalk"
)

// Entry is one file system object found by Walk; it is treewalk's, which the guest agent
// shares.
type Entry = treewalk.Entry

// Summary is what a digest walk reports: the counts and the tree digest defined in DESIGN.md.
// The definition lives in internal/treewalk, which the guest agent shares.
type Summary = treewalk.Summary

// Walk calls fn for every entry below root that m (nil: none) does not exclude, in the tree
// digest's order; treewalk.Walk says how.
func Walk(ctx context.Context, root string, m *Matcher, fn func(Entry) error) error {
	return treewalk.Walk(ctx, root, m, fn)
}

// DigestTree returns the digest of root without what m (nil: none) excludes;
// treewalk.DigestTree says how.
func DigestTree(ctx context.Context, root string, m *Matcher) (Summary, error) {
	return treewalk.DigestTree(ctx, root, m)
}
