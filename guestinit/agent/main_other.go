//go:build !linux

// Command agent is the guest's /init. It only does something on Linux; this stub keeps
// `go build ./...` working on other systems.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "vmfsbench agent: Linux only (build with GOOS=linux)")
	os.Exit(2)
}
