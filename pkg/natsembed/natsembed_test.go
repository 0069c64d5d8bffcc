package natsembed_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/natsembed"
)

func TestEmbeddedServerKeepsJetStreamDataAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	put := func() uint64 {
		srv, err := natsembed.Start(natsembed.Options{DataDir: dir, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown()
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "config"})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := kv.Put(ctx, "router", []byte("v1"))
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	rev := put()

	srv, err := natsembed.Start(natsembed.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, "config")
	if err != nil {
		t.Fatalf("bucket lost across restart: %v", err)
	}
	e, err := kv.Get(ctx, "router")
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Value()) != "v1" || e.Revision() != rev {
		t.Fatalf("got %q@%d, want v1@%d", e.Value(), e.Revision(), rev)
	}
	if !bytes.Contains(logs.Bytes(), []byte("component=nats")) {
		t.Fatalf("server logs did not go through slog: %s", logs.String())
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	cases := map[string]natsembed.Options{
		"no data dir": {},
		"bad address": {DataDir: t.TempDir(), Addr: "nonsense"},
		"bad port":    {DataDir: t.TempDir(), Addr: "127.0.0.1:http"},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			if srv, err := natsembed.Start(o); err == nil {
				srv.Shutdown()
				t.Fatal("expected an error")
			}
		})
	}
}
