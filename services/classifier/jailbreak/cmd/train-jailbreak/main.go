// Command train-jailbreak fits the jailbreak scorer's head on
// warden_train.jsonl (cross-validated on that split only) and writes
// services/classifier/jailbreak/weights/head.json.
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
	err := Run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "train-jailbreak:", err)
		os.Exit(1)
	}
}
