package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/vmfsbench/vmfsbench/internal/protocol"
	"github.com/vmfsbench/vmfsbench/internal/treewalk"
)

// readBufSize is each reader's copy buffer.
const readBufSize = 256 << 10

// defaultReaders is how many files read-all reads at once when the job does not say.
func defaultReaders() int { return 2 * runtime.GOMAXPROCS(0) }

type readJob struct {
	e    treewalk.Entry
	done chan readDone // nil for a symlink
}

type readDone struct {
	sum [sha256.Size]byte
	n   int64
	err error
}

// readAll walks root, reads every byte of every regular file with up to readers files in
// flight, and returns the tree digest with its counts. The digester is fed in path order
// whatever order the reads finish in.
func readAll(ctx context.Context, root string, readers int) (protocol.Result, error) {
	return walkRead(ctx, root, readers, true)
}

// readOnly is read-all's timed pass: it walks root and reads every byte of every regular
// file as readAll does, but hashes nothing; it returns the counts without a digest.
func readOnly(ctx context.Context, root string, readers int) (protocol.Result, error) {
	return walkRead(ctx, root, readers, false)
}

// readAllVerified is the read-all workload: the timed pass (readOnly), then the untimed
// digest pass (readAll), which must find the same files, symlinks and bytes. Seconds is the
// timed pass's, VerifySeconds the digest pass's; between them, atEnd runs (it reads what
// the guest looks like at the end of the workload) and may be nil.
func readAllVerified(ctx, verifyCtx context.Context, root string, readers int, atEnd func(*protocol.Result)) (protocol.Result, error) {
	res, err := readOnly(ctx, root, readers)
	if err != nil {
		return res, err
	}
	if atEnd != nil {
		atEnd(&res)
	}
	sum, err := readAll(verifyCtx, root, readers)
	if err != nil {
		return res, fmt.Errorf("digest pass: %w", err)
	}
	if sum.Files != res.Files || sum.Symlinks != res.Symlinks || sum.Bytes != res.Bytes {
		return res, fmt.Errorf("the digest pass saw %d files, %d symlinks, %d bytes; the timed pass %d, %d, %d",
			sum.Files, sum.Symlinks, sum.Bytes, res.Files, res.Symlinks, res.Bytes)
	}
	res.Summary, res.VerifySeconds = sum.Summary, sum.Seconds
	return res, nil
}

func walkRead(ctx context.Context, root string, readers int, hash bool) (protocol.Result, error) {
	start := time.Now()
	if readers <= 0 {
		readers = defaultReaders()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// order holds every file and symlink in walk order; a file is also handed to a reader
	// before the next entry is queued, so the head of order is always being read or done
	// and the bounded queue cannot deadlock.
	order := make(chan *readJob, 4*readers)
	work := make(chan *readJob)
	var walkErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		walkErr = treewalk.Walk(ctx, root, nil, func(e treewalk.Entry) error {
			var j *readJob
			switch {
			case e.Mode.IsRegular():
				j = &readJob{e: e, done: make(chan readDone, 1)}
			case e.Mode&fs.ModeSymlink != 0:
				j = &readJob{e: e}
			default:
				return nil
			}
			select {
			case order <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			if j.done != nil {
				select {
				case work <- j:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	}()
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, readBufSize)
			for j := range work {
				var d readDone
				if hash {
					d.sum, d.n, d.err = hashPath(ctx, j.e.Abs, buf)
				} else {
					d.n, d.err = readPath(ctx, j.e.Abs, buf)
				}
				if d.err == nil && d.n != j.e.Size {
					d.err = fmt.Errorf("reading %s: the file changed during the walk (%d bytes by lstat, %d read)", j.e.Abs, j.e.Size, d.n)
				}
				j.done <- d
			}
		}()
	}

	dig := treewalk.NewDigester()
	var counts treewalk.Summary // of the pass without hashing
	var err error
	for j := range order {
		if err != nil {
			continue // drain so the walker can finish
		}
		if j.done == nil {
			if hash {
				dig.AddSymlink(j.e.Rel, j.e.Target)
			}
			counts.Symlinks++
			continue
		}
		d := <-j.done
		if d.err != nil {
			err = d.err
			cancel()
			continue
		}
		if hash {
			dig.AddFile(j.e.Rel, d.n, d.sum)
		}
		counts.Files++
		counts.Bytes += d.n
	}
	wg.Wait()
	if err == nil {
		err = walkErr // it names the path
	}
	if err != nil {
		return protocol.Result{}, err
	}
	if !hash {
		return protocol.Result{Summary: counts, Seconds: time.Since(start).Seconds()}, nil
	}
	if !dig.Ordered() {
		return protocol.Result{}, fmt.Errorf("walking %s: entries were not in path order", root)
	}
	return protocol.Result{Summary: dig.Summary(), Seconds: time.Since(start).Seconds()}, nil
}

// hashPath reads the file at p to its end, stopping early if ctx ends.
func hashPath(ctx context.Context, p string, buf []byte) (sum [sha256.Size]byte, n int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return sum, 0, err
	}
	defer f.Close()
	sum, n, err = treewalk.HashFile(ctxReader{ctx, f}, buf)
	if err != nil {
		return sum, n, fmt.Errorf("reading %s: %w", p, err)
	}
	return sum, n, nil
}

// readPath reads the file at p to its end into buf, again and again, and nothing else.
func readPath(ctx context.Context, p string, buf []byte) (n int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := f.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("reading %s: %w", p, err)
		}
	}
}

// ctxReader fails reads once ctx is done, so a timeout interrupts a huge file.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// statAll walks root and lstats every entry, counting them.
func statAll(ctx context.Context, root string) (protocol.Result, error) {
	start := time.Now()
	var res protocol.Result
	err := treewalk.Walk(ctx, root, nil, func(e treewalk.Entry) error {
		info, err := os.Lstat(e.Abs)
		if err != nil {
			return err
		}
		res.Entries++
		switch m := info.Mode(); {
		case m.IsRegular():
			res.Files++
			res.Bytes += info.Size()
		case m&fs.ModeSymlink != 0:
			res.Symlinks++
		}
		return nil
	})
	if err != nil {
		return protocol.Result{}, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
