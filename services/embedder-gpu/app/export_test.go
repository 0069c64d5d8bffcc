package app

import (
	"context"
	"io"
)

// RunWithReady is Run with a callback once serving.
func RunWithReady(ctx context.Context, args []string, stderr io.Writer, ready func(httpAddr string)) error {
	return run(ctx, args, stderr, ready)
}
