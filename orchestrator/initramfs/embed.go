//go:build embedagents

package initramfs

import (
	"embed"
	"io/fs"
)

// agentFiles are the guest agents `make build` (its `agents` target) cross-builds into
// agents/agent-<goarch> before building vmfsbench with -tags embedagents. Only that tag embeds
// them, so `go test` and a plain `go build` never carry agents older than the source; they
// build the agent with the Go toolchain instead. agents/README.md keeps the directory, and
// this pattern, valid before the agents are built.
//
//go:embed agents
var agentFiles embed.FS

func init() {
	sub, err := fs.Sub(agentFiles, "agents")
	if err != nil {
		panic(err)
	}
	embeddedAgents = sub
}
