package natsstages

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// stageError wraps a stage call's error with the gateway sentinel its
// Connect code stands for.
func stageError(op string, err error) error {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeResourceExhausted, connect.CodeAborted:
		return fmt.Errorf("%s: %w: %w", op, gateway.ErrStageUnavailable, err)
	case connect.CodeDeadlineExceeded, connect.CodeCanceled:
		return fmt.Errorf("%s: %w: %w", op, gateway.ErrStageTimeout, err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w: %w", op, gateway.ErrStageTimeout, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
