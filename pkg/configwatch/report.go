package configwatch

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/nats-io/nats.go"
)

// NATSReporter publishes each Status as JSON on subject. Publishing is best
// effort: a failure is logged, never fatal to the watcher.
func NATSReporter(nc *nats.Conn, subject string, logger *slog.Logger) Reporter {
	if logger == nil {
		logger = slog.Default()
	}
	return func(_ context.Context, st Status) {
		data, err := json.Marshal(st)
		if err == nil {
			err = nc.Publish(subject, data)
		}
		if err != nil {
			logger.Warn("publish config status", slog.String("subject", subject), slog.String("error", err.Error()))
		}
	}
}
