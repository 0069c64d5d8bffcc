// Command config-hub publishes configuration revisions to JetStream KV and
// serves the management API and xDS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/semrouter/semrouter/services/config-hub/hub"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := hub.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "config-hub:", err)
		os.Exit(1)
	}
}
