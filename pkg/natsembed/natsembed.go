// Package natsembed runs a nats-server with JetStream inside the current
// process, for `semrouter serve`: the services talk over it exactly as they
// would over a network NATS cluster.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures the embedded server.
type Options struct {
	// DataDir holds JetStream storage (KV config revisions, cache stream).
	DataDir string
	// Addr is host:port for clients; port 0 picks a free one. Default
	// 127.0.0.1:0 keeps the bus private to the machine.
	Addr string
	// MaxPayload bounds one message (default 8 MiB: embedding batches and
	// cached responses travel as messages).
	MaxPayload int32
	// ReadyTimeout bounds the wait for the server (default 10s).
	ReadyTimeout time.Duration
	Logger       *slog.Logger
}

// Server is a running embedded nats-server.
type Server struct {
	srv *server.Server
}

// Start launches the server and waits until it accepts connections.
func Start(o Options) (*Server, error) {
	if o.DataDir == "" {
		return nil, errors.New("start embedded nats: a data directory is required")
	}
	host, port := "127.0.0.1", server.RANDOM_PORT
	if o.Addr != "" {
		h, p, err := net.SplitHostPort(o.Addr)
		if err != nil {
			return nil, fmt.Errorf("start embedded nats: address %q: %w", o.Addr, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("start embedded nats: port %q: %w", p, err)
		}
		if h != "" {
			host = h
		}
		if n != 0 {
			port = n
		}
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = 8 << 20
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "semrouter",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.DataDir,
		MaxPayload: o.MaxPayload,
		NoSigs:     true,
		NoLog:      o.Logger == nil,
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded nats: %w", err)
	}
	if o.Logger != nil {
		srv.SetLoggerV2(&slogAdapter{l: o.Logger.With(slog.String("component", "nats"))}, false, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(o.ReadyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("start embedded nats: not ready within %s", o.ReadyTimeout)
	}
	return &Server{srv: srv}, nil
}

// ClientURL is the URL services connect to.
func (s *Server) ClientURL() string { return s.srv.ClientURL() }

// Shutdown stops the server and waits for it to finish, flushing
// JetStream storage.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// slogAdapter lets nats-server log through the process's slog logger.
type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
