package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestNATSCredentialsNotEchoed: the credentials of --nats-url never reach
// an error or the log.
func TestNATSCredentialsNotEchoed(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), []string{"--nats-url", "nats://svc:hunter2-secret@127.0.0.1:1"}, &out)
	if err == nil || !strings.Contains(err.Error(), "connect to nats") {
		t.Fatalf("run = %v, want a connect error", err)
	}
	if strings.Contains(err.Error()+out.String(), "hunter2") {
		t.Fatalf("the NATS password was echoed: %v\n%s", err, out.String())
	}
}

// TestHTTPAddrDefaultsToLoopback: the Connect API can store, invalidate
// and flush entries without authentication, so by default only the local
// host reaches it.
func TestHTTPAddrDefaultsToLoopback(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, &stderr); err != nil {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(stderr.String(), `(default "127.0.0.1:8092")`) {
		t.Fatalf("--http-addr does not default to loopback:\n%s", stderr.String())
	}
}
