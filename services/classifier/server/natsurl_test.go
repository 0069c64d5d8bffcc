package server_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/server"
)

// TestNATSCredentialsNotEchoed: the credentials of --nats-url never reach
// an error or the log.
func TestNATSCredentialsNotEchoed(t *testing.T) {
	var stderr bytes.Buffer
	err := server.Main(context.Background(), []string{"--nats-url", "nats://svc:hunter2-secret@127.0.0.1:1", "--http-addr", ""}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "connect to nats") {
		t.Fatalf("Main = %v, want a connect error", err)
	}
	if strings.Contains(err.Error()+stderr.String(), "hunter2") {
		t.Fatalf("the NATS password was echoed: %v\n%s", err, stderr.String())
	}
}
