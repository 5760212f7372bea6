// Package proc starts host commands the one way vmfsbench does: each in a process group of its
// own, killed as a whole (children included) when its context ends, and killed when the
// thread that started it dies, so no helper outlives vmfsbench.
package proc

import (
	"context"
	"os/exec"
	"time"
)

// WaitDelay bounds how long Wait keeps reading a killed command's output pipes.
const WaitDelay = 5 * time.Second

// Command is exec.CommandContext(ctx, argv[0], argv[1:]...) in its own process group.
func Command(ctx context.Context, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	Group(cmd)
	return cmd
}
