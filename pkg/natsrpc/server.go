package natsrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/pkg/telemetry"
)

// Server serves one Connect service handler on NATS.
type Server struct {
	nc       *nats.Conn
	handler  http.Handler
	cfg      serverConfig
	tracer   trace.Tracer
	errors   *connect.ErrorWriter
	sem      chan struct{}
	inflight sync.WaitGroup
	subs     []*nats.Subscription
	subjects []string
	closeMu  sync.Mutex
	closed   bool
}

// Serve subscribes handler to the subject of every procedure of the service
// it was built for. path and handler are what a generated
// NewXxxServiceHandler returns; the service must be registered in the
// protobuf global registry (importing its generated package does that).
func Serve(nc *nats.Conn, path string, handler http.Handler, opts ...ServerOption) (*Server, error) {
	service := strings.Trim(path, "/")
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil, fmt.Errorf("natsrpc: find service %q: %w", service, err)
	}
	sd, ok := desc.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("natsrpc: %q is a %T, not a service", service, desc)
	}
	cfg := serverConfig{common: defaultCommon(), queueGroup: subjects.QueueGroup(service), maxConcurrency: 64}
	for _, o := range opts {
		o.applyServer(&cfg)
	}
	if cfg.maxConcurrency < 1 {
		return nil, fmt.Errorf("natsrpc: max concurrency %d: want at least 1", cfg.maxConcurrency)
	}
	s := &Server{
		nc:      nc,
		handler: handler,
		cfg:     cfg,
		tracer:  cfg.tracerProvider.Tracer(tracerName),
		errors:  connect.NewErrorWriter(),
		sem:     make(chan struct{}, cfg.maxConcurrency),
	}
	known := map[string]bool{}
	methods := sd.Methods()
	for i := range methods.Len() {
		procedure := "/" + service + "/" + string(methods.Get(i).Name())
		known[procedure] = true
		suffixes, ok := cfg.suffixes[procedure]
		if !ok {
			suffixes = []string{""}
		}
		for _, suffix := range suffixes {
			subject := subjects.RPCWithSuffix(procedure, suffix)
			sub, err := nc.QueueSubscribe(subject, cfg.queueGroup, s.dispatch(procedure))
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("natsrpc: subscribe %q: %w", subject, err)
			}
			s.subs = append(s.subs, sub)
			s.subjects = append(s.subjects, subject)
		}
	}
	for p := range cfg.suffixes {
		if !known[p] {
			s.Close()
			return nil, fmt.Errorf("natsrpc: suffixes for %q: not a procedure of %s", p, service)
		}
	}
	// Make sure the server has the subscriptions before callers are told we serve.
	if err := nc.Flush(); err != nil {
		s.Close()
		return nil, fmt.Errorf("natsrpc: flush subscriptions: %w", err)
	}
	return s, nil
}

// Subjects lists the subjects the server listens on.
func (s *Server) Subjects() []string { return append([]string(nil), s.subjects...) }

// QueueGroup is the queue group the server's subscriptions joined.
func (s *Server) QueueGroup() string { return s.cfg.queueGroup }

func (s *Server) dispatch(procedure string) nats.MsgHandler {
	return func(msg *nats.Msg) {
		s.sem <- struct{}{} // blocks this subscription while all workers are busy
		s.inflight.Add(1)
		go func() {
			defer func() {
				<-s.sem
				s.inflight.Done()
			}()
			s.handle(procedure, msg)
		}()
	}
}

func (s *Server) handle(procedure string, msg *nats.Msg) {
	start := time.Now()
	ctx := s.cfg.propagator.Extract(context.Background(), telemetry.NATSHeaderCarrier(msg.Header))
	ctx, span := s.tracer.Start(ctx, strings.TrimPrefix(procedure, "/"),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("rpc.system", "connect_rpc"),
			attribute.String("rpc.method", procedure),
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", msg.Subject),
		))
	defer span.End()
	if ms, err := strconv.ParseInt(msg.Header.Get(headerTimeout), 10, 64); err == nil && ms > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
	}

	rec := newResponseRecorder()
	defer rec.release()
	req, err := s.newRequest(ctx, procedure, msg)
	if err != nil {
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, BaseURL+procedure, http.NoBody)
		req.Header = toHTTPHeader(msg.Header)
		_ = s.errors.Write(rec, req, connect.NewError(connect.CodeInvalidArgument, err))
	} else {
		s.serve(rec, req)
	}

	status, header, trailer := rec.result()
	s.cfg.metrics.Server(procedure, statusCode(status, trailer), time.Since(start))
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status != http.StatusOK || (trailer.Get("Grpc-Status") != "" && trailer.Get("Grpc-Status") != "0") {
		span.SetStatus(codes.Error, "status "+strconv.Itoa(status)+" "+trailer.Get("Grpc-Message"))
	}
	if msg.Reply == "" {
		return // published without a reply subject: fire and forget
	}
	reply := buildReply(msg.Reply, status, header, trailer, rec.body.Bytes())
	if max := s.nc.MaxPayload(); max > 0 && int64(reply.Size()-len(msg.Reply)) > max {
		size := reply.Size() - len(msg.Reply)
		tooBig := newResponseRecorder()
		defer tooBig.release()
		_ = s.errors.Write(tooBig, req, connect.NewError(connect.CodeResourceExhausted, fmt.Errorf(
			"natsrpc: response of %s is %d bytes, over the NATS max payload of %d bytes", procedure, size, max)))
		status, header, trailer = tooBig.result()
		reply = buildReply(msg.Reply, status, header, trailer, tooBig.body.Bytes())
		span.SetStatus(codes.Error, "response over max payload")
	}
	if err := msg.RespondMsg(reply); err != nil {
		span.RecordError(err)
		s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "natsrpc: send reply",
			slog.String("procedure", procedure), slog.String("error", err.Error()))
	}
}

// serve runs the handler, turning a panic into an internal error response.
func (s *Server) serve(rec *responseRecorder, req *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.logger.LogAttrs(req.Context(), slog.LevelError, "natsrpc: handler panic",
				slog.String("procedure", req.URL.Path), slog.Any("panic", p))
			fresh := newResponseRecorder()
			_ = s.errors.Write(fresh, req, connect.NewError(connect.CodeInternal, fmt.Errorf("natsrpc: handler panicked: %v", p)))
			rec.body.Reset()
			rec.body.Write(fresh.body.Bytes())
			rec.header, rec.sent, rec.status, rec.wroteHeader = fresh.header, fresh.sent, fresh.status, fresh.wroteHeader
			fresh.release()
		}
	}()
	s.handler.ServeHTTP(rec, req)
}

func (s *Server) newRequest(ctx context.Context, procedure string, msg *nats.Msg) (*http.Request, error) {
	method := msg.Header.Get(headerMethod)
	if method == "" {
		method = http.MethodPost
	}
	uri := msg.Header.Get(headerPath)
	if uri == "" {
		uri = procedure
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("natsrpc: parse %s %q: %w", headerPath, uri, err)
	}
	if u.Path != procedure {
		return nil, fmt.Errorf("natsrpc: path %q sent to the subject of %s", u.Path, procedure)
	}
	req, err := http.NewRequestWithContext(ctx, method, BaseURL+uri, bytes.NewReader(msg.Data))
	if err != nil {
		return nil, fmt.Errorf("natsrpc: build request: %w", err)
	}
	req.Header = toHTTPHeader(msg.Header)
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/2.0", 2, 0
	req.RequestURI = uri
	req.RemoteAddr = "nats"
	return req, nil
}

func buildReply(subject string, status int, header, trailer http.Header, body []byte) *nats.Msg {
	reply := &nats.Msg{Subject: subject, Data: body, Header: make(nats.Header, len(header)+len(trailer)+1)}
	copyHTTPHeader(reply.Header, header)
	reply.Header[headerStatus] = []string{strconv.Itoa(status)}
	for k, vs := range trailer {
		reply.Header[headerTrailerPrefix+k] = vs
	}
	return reply
}

// Drain stops taking new requests, lets queued and running ones finish and
// returns when they have, or when ctx is done (then with ctx's error).
func (s *Server) Drain(ctx context.Context) error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	var done []<-chan nats.SubStatus
	for _, sub := range s.subs {
		ch := sub.StatusChanged(nats.SubscriptionClosed)
		if err := sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, fmt.Errorf("natsrpc: drain %q: %w", sub.Subject, err))
			continue
		}
		done = append(done, ch)
	}
	s.closeMu.Unlock()
	for _, ch := range done {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("natsrpc: drain: %w", ctx.Err())
		}
	}
	finished := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		return fmt.Errorf("natsrpc: wait for in-flight requests: %w", ctx.Err())
	}
	return errors.Join(errs...)
}

// Close unsubscribes at once; requests already running finish in the
// background and queued ones are dropped (callers see a timeout).
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
}
