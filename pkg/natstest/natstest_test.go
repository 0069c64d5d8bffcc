package natstest

import (
	"testing"

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
