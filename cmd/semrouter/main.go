// Command semrouter is the semrouter CLI: validate and migrate
// configurations (and, in later releases, serve traffic).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err))
}
