// Command silentinit is an /init that never reports: the tests' guest that boots and then
// says nothing, which the host must time out.
package main

import "time"

func main() {
	for {
		time.Sleep(time.Hour)
	}
}
