// Command classifier serves the semrouter classifier: signals,
// projections, decisions and model selection over NATS and HTTP, hot
// reloading the configuration from JetStream KV.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/semrouter/semrouter/services/classifier/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := server.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "classifier:", err)
		os.Exit(1)
	}
}
