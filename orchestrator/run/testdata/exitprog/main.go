// Command exitprog is the tests' workload: it prints its arguments to stdout, a line to
// stderr, writes a file in the working directory, and exits with the status named by its
// first argument.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	fmt.Println("exitprog stdout:", os.Args[1:])
	fmt.Fprintln(os.Stderr, "exitprog stderr")
	if err := os.WriteFile("exitprog.out", []byte("written in the guest\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write:", err)
		os.Exit(100)
	}
	code := 0
	if len(os.Args) > 1 {
		code, _ = strconv.Atoi(os.Args[1])
	}
	os.Exit(code)
}
