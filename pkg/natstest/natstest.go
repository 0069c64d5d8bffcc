// Package natstest runs a real, in-process nats-server with JetStream for
// tests: random port, storage in t.TempDir(), shut down by t.Cleanup.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Option adjusts the server options before the server starts.
type Option func(*server.Options)

// WithMaxPayload sets the server's maximum message payload in bytes.
func WithMaxPayload(n int32) Option {
	return func(o *server.Options) { o.MaxPayload = n }
}

// WithoutJetStream starts a core-only server.
func WithoutJetStream() Option {
	return func(o *server.Options) { o.JetStream = false }
}

// WithOptions lets a test change any server option.
func WithOptions(fn func(*server.Options)) Option { return Option(fn) }

// RunServer starts a nats-server with JetStream on a random localhost port,
// storing JetStream data under t.TempDir(). It fails the test if the server
// is not ready within 10 seconds and shuts it down when the test ends.
func RunServer(t testing.TB, opts ...Option) *server.Server {
	t.Helper()
	o := &server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		// Keep JetStream's footprint small: tests share the machine.
		JetStreamMaxMemory: 256 << 20,
		JetStreamMaxStore:  1 << 30,
	}
	for _, opt := range opts {
		opt(o)
	}
	return Start(t, o, nil)
}

// Start runs a nats-server with exactly the options o (a test that builds
// them from a deployment's nats.conf or args), logging to log when it is
// not nil. It fails the test if the server is not ready within 10 seconds
// and shuts it down when the test ends.
func Start(t testing.TB, o *server.Options, log server.Logger) *server.Server {
	t.Helper()
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	if log != nil {
		s.SetLogger(log, false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("natstest: server not ready for connections within 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect opens a client connection to s, closed when the test ends.
func Connect(t testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("natstest: connect to %s: %v", s.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// JetStream opens a client connection to s and returns its JetStream context.
func JetStream(t testing.TB, s *server.Server) (*nats.Conn, nats.JetStreamContext) {
	t.Helper()
	nc := Connect(t, s)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatalf("natstest: jetstream context: %v", err)
	}
	return nc, js
}
