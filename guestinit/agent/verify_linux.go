package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/treewalk"
)

// verify checks, after the workload, how the tree is presented: the owners of its entries, that
// a file can be written at its root, and that the read-only lower layer refuses a write. It runs
// after the measurement so it cannot disturb it.
func (a *agent) verify(ctx context.Context, job *protocol.Job) error {
	if job.Verify == nil {
		return nil
	}
	root := job.Mountpoint
	if job.Workload.Chroot != "" {
		root = filepath.Join(job.Workload.Chroot, root)
	}
	res, err := verifyTree(ctx, root, job.Verify.Lower)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	a.send(protocol.Event{Kind: protocol.EventVerify, Verify: res})
	return nil
}

const probeName = ".vmfsbench-write-probe"

func verifyTree(ctx context.Context, root, lower string) (*protocol.VerifyResult, error) {
	res := &protocol.VerifyResult{Owners: map[string]int64{}}
	err := treewalk.Walk(ctx, root, nil, func(e treewalk.Entry) error {
		var st syscall.Stat_t
		if err := syscall.Lstat(e.Abs, &st); err != nil {
			return err
		}
		res.Owners[fmt.Sprintf("%d:%d", st.Uid, st.Gid)]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.WriteError = errText(writeProbe(root))
	if lower != "" {
		res.LowerWriteError = errText(writeProbe(lower))
	}
	return res, nil
}

// writeProbe creates, writes and removes a file in dir.
func writeProbe(dir string) error {
	p := filepath.Join(dir, probeName)
	if err := os.WriteFile(p, []byte("vmfsbench\n"), 0o644); err != nil {
		return err
	}
	return os.Remove(p)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
