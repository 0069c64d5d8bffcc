package telemetry

import (
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
)

// NATSHeaderCarrier adapts nats.Header to propagation.TextMapCarrier so a
// propagator can inject trace context into, and extract it from, a NATS
// message's headers.
type NATSHeaderCarrier nats.Header

var _ propagation.TextMapCarrier = NATSHeaderCarrier(nil)

// Get returns the first value of key. NATS headers are case-sensitive; when
// the exact key is absent a case-insensitive match is used, so headers that
// passed through HTTP canonicalisation ("Traceparent") are still found.
func (c NATSHeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces the values of key.
func (c NATSHeaderCarrier) Set(key, value string) {
	c[key] = []string{value}
}

// Keys lists the header names.
func (c NATSHeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
