// Command agentmain stands in for the guest agent in tests of BuildAgent and BuildBase: a
// small static main package built the same way.
package main

import "fmt"

func main() { fmt.Println("vmfsbench test agent") }
