// Command train-jailbreak fits the jailbreak scorer's trained parts on
// warden_train.jsonl (cross-validated on that split only) and writes
// services/classifier/jailbreak/weights/: head.json (the head and its
// guard override), gibberish.json (the gibberish detector) and harm.json
// (the harmful-request detector's operating point, chosen on benign
// prompts only: warden_train's benign side, MMLU-Pro train questions and
// code prompts).
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
