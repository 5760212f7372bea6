package method

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// startShareDaemon starts the cell's virtiofsd so that the guest cannot write the host tree
// whatever it does, even as root after remounting its share read-write: the daemon runs in a
// private mount namespace in which the tree is a read-only bind mount of itself (its
// submounts too), so every write it is asked for fails with EROFS. The C daemon has no
// read-only mode of its own; the Rust daemon also gets --readonly where it has it (Argv).
// Without the privilege to mount, only a Rust daemon with --readonly can keep the tree
// read-only: any other daemon is refused.
//
// The namespace belongs to one locked OS thread, made with unshare(CLONE_NEWNS) and marked
// private before the bind, and the daemon inherits it when the thread starts it. The thread
// lives until the daemon has exited: the daemon's parent-death signal follows the thread that
// started it. Nothing is mounted in the host's namespace, and the daemon's argv is the plan's.
func startShareDaemon(ctx context.Context, c Config, d Virtiofsd, argv []string, env Env, socket string) (*daemonProc, error) {
	if !hasCap(capSysAdmin) {
		if d.Flavor == FlavorRust && d.has("--readonly") {
			return startDaemon(ctx, argv, socket, d.Flavor, env.Log, env.Abort)
		}
		return nil, fmt.Errorf("cannot keep the tree read-only to the guest: the %s virtiofsd %s has no --readonly, and the "+
			"read-only bind mount vmfsbench gives it instead needs CAP_SYS_ADMIN (run vmfsbench as root, or give the "+
			"method a Rust virtiofsd 1.13 or later: daemon: PATH)", map[string]string{FlavorC: "C", FlavorRust: "Rust"}[d.Flavor], d.Path)
	}
	type started struct {
		p   *daemonProc
		err error
	}
	ch := make(chan started, 1)
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends the thread.
		runtime.LockOSThread()
		if err := readOnlyTreeNamespace(c.Tree); err != nil {
			ch <- started{nil, err}
			return
		}
		fmt.Fprintf(env.Log, "virtiofsd: in a private mount namespace where %s is a read-only bind mount of itself\n", c.Tree)
		p, err := startDaemon(ctx, argv, socket, d.Flavor, env.Log, env.Abort)
		ch <- started{p, err}
		if p != nil {
			<-p.exited
		}
	}()
	s := <-ch
	return s.p, s.err
}

// readOnlyTreeNamespace moves the calling (locked) thread into a new private mount namespace
// and bind-mounts tree read-only over itself there.
func readOnlyTreeNamespace(tree string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("read-only view of the tree: unshare(CLONE_NEWNS): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("read-only view of the tree: making the private mount namespace private: %w", err)
	}
	if err := mountTree(viewSpec{tree: tree}, tree); err != nil {
		return fmt.Errorf("read-only view of the tree: %w", err)
	}
	return nil
}
