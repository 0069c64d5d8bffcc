package natsrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/pkg/telemetry"
)

const tracerName = "github.com/semrouter/semrouter/pkg/natsrpc"

// Client sends Connect requests over NATS request-reply. It implements
// connect.HTTPClient; pass it with BaseURL to a generated NewXxxServiceClient.
type Client struct {
	nc     *nats.Conn
	cfg    clientConfig
	tracer trace.Tracer
}

var _ connect.HTTPClient = (*Client)(nil)

// NewClient returns a Client that uses nc.
func NewClient(nc *nats.Conn, opts ...ClientOption) *Client {
	cfg := clientConfig{common: defaultCommon(), defaultTimeout: 30 * time.Second, subject: defaultSubject}
	for _, o := range opts {
		o.applyClient(&cfg)
	}
	return &Client{nc: nc, cfg: cfg, tracer: cfg.tracerProvider.Tracer(tracerName)}
}

// Do sends req to the subject of its procedure and turns the reply into an
// *http.Response. Transport failures are returned as *connect.Error:
// unavailable (no responders, connection closed), deadline_exceeded,
// canceled and resource_exhausted (message over the NATS max payload).
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	procedure := req.URL.Path
	subject := c.cfg.subject(ctx, procedure)

	ctx, span := c.tracer.Start(ctx, strings.TrimPrefix(procedure, "/"),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("rpc.system", "connect_rpc"),
			attribute.String("rpc.method", procedure),
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", subject),
		))
	defer span.End()

	start := time.Now()
	resp, err := c.do(ctx, req, procedure, subject)
	if err != nil {
		c.cfg.metrics.Client(procedure, connect.CodeOf(err).String(), time.Since(start))
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	c.cfg.metrics.Client(procedure, statusCode(resp.StatusCode, resp.Trailer), time.Since(start))
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode != http.StatusOK {
		span.SetStatus(codes.Error, resp.Status)
	}
	return resp, nil
}

func (c *Client) do(ctx context.Context, req *http.Request, procedure, subject string) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("natsrpc: read request body for %s: %w", procedure, err))
		}
	}

	if _, ok := ctx.Deadline(); !ok && c.cfg.defaultTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.defaultTimeout)
		defer cancel()
	}

	msg := &nats.Msg{Subject: subject, Data: body, Header: make(nats.Header, len(req.Header)+5)}
	copyHTTPHeader(msg.Header, req.Header)
	if !c.cfg.compression {
		for _, k := range [...]string{"Accept-Encoding", "Connect-Accept-Encoding", "Grpc-Accept-Encoding"} {
			delete(msg.Header, k)
		}
	}
	msg.Header[headerMethod] = []string{req.Method}
	msg.Header[headerPath] = []string{req.URL.RequestURI()}
	if dl, ok := ctx.Deadline(); ok {
		ms := time.Until(dl).Milliseconds()
		if ms < 1 {
			ms = 1
		}
		msg.Header[headerTimeout] = []string{strconv.FormatInt(ms, 10)}
	}
	c.cfg.propagator.Inject(ctx, telemetry.NATSHeaderCarrier(msg.Header))

	if max := c.nc.MaxPayload(); max > 0 && int64(msg.Size()-len(subject)) > max {
		return nil, connect.NewError(connect.CodeResourceExhausted, fmt.Errorf(
			"natsrpc: request to %s is %d bytes (body %d), over the NATS max payload of %d bytes",
			procedure, msg.Size()-len(subject), len(body), max))
	}

	reply, err := c.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		return nil, transportError(procedure, subject, err)
	}
	return toHTTPResponse(req, procedure, reply)
}

// statusCode is the code label of a reply: "ok", or "http_<status>"; a
// gRPC-framed error in the trailers counts as "grpc_<code>".
func statusCode(status int, trailer http.Header) string {
	if status != http.StatusOK {
		return "http_" + strconv.Itoa(status)
	}
	if g := trailer.Get("Grpc-Status"); g != "" && g != "0" {
		return "grpc_" + g
	}
	return "ok"
}

// transportError maps a NATS request error to a Connect error.
func transportError(procedure, subject string, err error) error {
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("natsrpc: no responders for %s on %q: %w", procedure, subject, err))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("natsrpc: %s on %q: %w", procedure, subject, err))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, fmt.Errorf("natsrpc: %s: %w", procedure, err))
	case errors.Is(err, nats.ErrMaxPayload):
		return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("natsrpc: request to %s is over the NATS max payload: %w", procedure, err))
	default:
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("natsrpc: request %s on %q: %w", procedure, subject, err))
	}
}

// toHTTPResponse rebuilds the handler's HTTP response from a reply.
func toHTTPResponse(req *http.Request, procedure string, reply *nats.Msg) (*http.Response, error) {
	statusText := reply.Header.Get(headerStatus)
	status, err := strconv.Atoi(statusText)
	if err != nil || status < 100 || status > 999 {
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("natsrpc: reply to %s has no valid %s header (%q): not a natsrpc server", procedure, headerStatus, statusText))
	}
	header := toHTTPHeader(reply.Header)
	var trailer http.Header
	for k, vs := range reply.Header {
		if hasPrefixFold(k, headerTrailerPrefix) {
			if trailer == nil {
				trailer = make(http.Header)
			}
			ck := textproto.CanonicalMIMEHeaderKey(k[len(headerTrailerPrefix):])
			trailer[ck] = append(trailer[ck], vs...)
		}
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        header,
		Trailer:       trailer,
		Body:          io.NopCloser(bytes.NewReader(reply.Data)),
		ContentLength: int64(len(reply.Data)),
		Request:       req,
	}, nil
}
