// Package natsrpc carries Connect RPCs over NATS request-reply.
//
// A Server subscribes to one subject per procedure of a connect-go service
// handler (in a queue group, so replicas share the load) and runs the handler
// against an in-memory ResponseWriter. A Client implements connect.HTTPClient,
// so the generated Connect clients work unchanged over NATS:
//
//	path, h := configv1connect.NewConfigServiceHandler(impl)
//	srv, err := natsrpc.Serve(nc, path, h)
//	...
//	cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(nc), natsrpc.BaseURL)
//
// Wire format. Request: subject subjects.RPCWithSuffix(procedure, suffix),
// data = the HTTP request body, NATS headers = the HTTP request headers plus
// Natsrpc-Method, Natsrpc-Path (request URI), Natsrpc-Timeout-Ms (time left)
// and the trace context (W3C traceparent). Reply: data = the HTTP response
// body, headers = the HTTP response headers plus Natsrpc-Status, and each
// trailer as Natsrpc-Trailer-<Name>. The same handler stays reachable over
// HTTP with identical results.
package natsrpc

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/nats-io/nats.go"
)

// BaseURL is the base URL to give generated Connect clients that use a
// Client; its host is never resolved.
const BaseURL = "http://natsrpc"

const (
	headerPrefix        = "Natsrpc-"
	headerMethod        = "Natsrpc-Method"
	headerPath          = "Natsrpc-Path"
	headerTimeout       = "Natsrpc-Timeout-Ms"
	headerStatus        = "Natsrpc-Status"
	headerTrailerPrefix = "Natsrpc-Trailer-"
)

// isTransportHeader reports whether a NATS header belongs to this package's
// framing (or to NATS itself) and must not reach the HTTP side.
func isTransportHeader(k string) bool {
	return hasPrefixFold(k, headerPrefix) || strings.EqualFold(k, "Status") || strings.EqualFold(k, "Description")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// toHTTPHeader copies the non-transport NATS headers into an http.Header with
// canonical keys.
func toHTTPHeader(h nats.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if isTransportHeader(k) {
			continue
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// copyHTTPHeader copies HTTP headers into NATS headers, skipping hop-by-hop
// and transport names.
func copyHTTPHeader(dst nats.Header, src http.Header) {
	for k, vs := range src {
		if isTransportHeader(k) || len(vs) == 0 {
			continue
		}
		switch k {
		case "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Content-Length":
			continue
		}
		dst[k] = vs
	}
}
