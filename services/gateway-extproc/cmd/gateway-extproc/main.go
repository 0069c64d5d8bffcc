// Command gateway-extproc is the semrouter edge: an Envoy ext_proc server
// and, with --api, an OpenAI-compatible API that proxies upstream itself.
// It follows the config in JetStream KV and reaches the embedder,
// classifier and cache services over NATS.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/semrouter/semrouter/services/gateway-extproc/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := service.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway-extproc:", err)
		os.Exit(1)
	}
}
