package hub_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/config-hub/hub"
)

// TestMainNATSURLFromEnv runs the config-hub command against NATS URLs
// where nothing listens: the connection error names the URL it dialled,
// which is $SEMROUTER_NATS_URL unless --nats-url is given.
func TestMainNATSURLFromEnv(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"env", nil, "nats://127.0.0.1:1"},
		{"flag wins", []string{"--nats-url", "nats://127.0.0.1:2"}, "nats://127.0.0.1:2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(telemetry.EnvNATSURL, "nats://127.0.0.1:1")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			args := append([]string{"--management-addr", "off", "--xds-addr", "off"}, tc.args...)
			err := hub.Main(ctx, args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a connection error naming %s", err, tc.want)
			}
		})
	}
}
