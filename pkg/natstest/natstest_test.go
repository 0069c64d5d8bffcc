package natstest

import (
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func TestRunServerWithJetStream(t *testing.T) {
	s := RunServer(t)
	if !s.JetStreamEnabled() {
		t.Fatal("JetStream not enabled")
	}
	_, js := JetStream(t, s)
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "probe"})
	if err != nil {
		t.Fatalf("create kv: %v", err)
	}
	rev, err := kv.Put("k", []byte("v"))
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	e, err := kv.Get("k")
	if err != nil || string(e.Value()) != "v" || e.Revision() != rev {
		t.Fatalf("get = %v, %v; want v at revision %d", e, err, rev)
	}
}

func TestRunServerOptions(t *testing.T) {
	s := RunServer(t, WithMaxPayload(1024), WithoutJetStream())
	if s.JetStreamEnabled() {
		t.Fatal("JetStream enabled, want disabled")
	}
	nc := Connect(t, s)
	if got := nc.MaxPayload(); got != 1024 {
		t.Fatalf("max payload = %d, want 1024", got)
	}
}

// TestLogKeepsViolations: a user denied a subject publishes to it; the
// Log keeps the server's violation line and nothing its filter rejects.
func TestLogKeepsViolations(t *testing.T) {
	log := NewLog(KeepContaining("Violation"))
	s := Start(t, &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true,
		Users: []*server.User{{Username: "u", Password: "p", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Deny: []string{"secret"}},
		}}},
	}, log)
	errs := make(chan error, 1)
	nc := Connect(t, s, nats.UserInfo("u", "p"), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	if err := nc.Publish("secret", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("client error %v, want a permission violation", err)
	}
	// The server's read loop logs the violation before it answers the
	// PING that Flush sent after the publish, so the line is there now.
	if n := log.Count("Violation", "secret"); n != 1 {
		t.Fatalf("%d violation lines for secret, want 1: %q", n, log.Lines())
	}
	for _, line := range log.Lines() {
		if !strings.Contains(line, "Violation") {
			t.Errorf("kept a line the filter rejects: %q", line)
		}
	}
	if got := log.Tail(1); len(got) != 1 || !strings.Contains(got[0], "secret") {
		t.Errorf("Tail(1) = %q", got)
	}
}
