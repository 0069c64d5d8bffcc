// Command cache serves one replica of the semrouter response cache:
// lookups over NATS (queue group) and HTTP (Connect), writes replicated
// through the CACHE_WRITES JetStream stream, store settings hot-reloaded
// from the config KV.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cache:", err)
		os.Exit(1)
	}
}
