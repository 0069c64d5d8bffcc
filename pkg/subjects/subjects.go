// Package subjects names every NATS subject, queue group, JetStream stream and
// KV bucket semrouter uses. All names are produced by functions so that no
// service spells a subject by hand.
//
// Layout:
//
//	semrouter.rpc.<package>.<Service>.<Method>[.<suffix>]   Connect procedures (request-reply)
//	semrouter.cache.writes.<decision>                       cache writes (stream CACHE_WRITES)
//	semrouter.cache.control                                 cache invalidations broadcast to every replica
//	semrouter.latency.<model>                               latency observations
//	semrouter.config.status.<service>.<instance>            config status reports (JSON)
//	KV bucket "config", key "active"                        the canonical configuration
package subjects

import (
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
)

// Root is the first token of every semrouter subject.
const Root = "semrouter"

const rpcPrefix = Root + ".rpc."

// Empty is the token used for an empty name, so that subjects never contain
// an empty token.
const Empty = "_"

// Token turns an arbitrary name (model, decision, instance) into a single
// valid NATS subject token: characters outside [A-Za-z0-9_-] become '_'.
// An empty name becomes Empty. Distinct names can map to the same token
// ("a.b" and "a/b"); names in one configuration are expected not to collide.
func Token(name string) string {
	if name == "" {
		return Empty
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// ParseProcedure splits a Connect procedure ("/pkg.v1.Service/Method") into
// the fully-qualified service name and the method name.
func ParseProcedure(procedure string) (service, method string, err error) {
	p := strings.TrimPrefix(procedure, "/")
	service, method, ok := strings.Cut(p, "/")
	if !ok || service == "" || method == "" || strings.Contains(method, "/") {
		return "", "", fmt.Errorf("parse procedure %q: want /package.Service/Method", procedure)
	}
	for _, part := range strings.Split(service, ".") {
		if part == "" || Token(part) != part {
			return "", "", fmt.Errorf("parse procedure %q: invalid service name", procedure)
		}
	}
	if Token(method) != method {
		return "", "", fmt.Errorf("parse procedure %q: invalid method name", procedure)
	}
	return service, method, nil
}

// RPC is the request-reply subject of a Connect procedure,
// e.g. "/semrouter.config.v1.ConfigService/GetConfig" →
// "semrouter.rpc.semrouter.config.v1.ConfigService.GetConfig". A malformed
// procedure is reduced to one sanitised token so the result is still a valid
// subject (and matches no server).
func RPC(procedure string) string {
	service, method, err := ParseProcedure(procedure)
	if err != nil {
		return rpcPrefix + "invalid." + Token(procedure)
	}
	return rpcPrefix + service + "." + method
}

// RPCWithSuffix is RPC plus one extra token (Token(suffix)), used to route a
// procedure to a subset of replicas (e.g. the pool serving one model).
// An empty suffix returns RPC(procedure).
func RPCWithSuffix(procedure, suffix string) string {
	if suffix == "" {
		return RPC(procedure)
	}
	return RPC(procedure) + "." + Token(suffix)
}

// RPCService is the wildcard matching every procedure of a service
// ("semrouter.rpc.<service>.>"), for monitoring.
func RPCService(service string) string {
	return rpcPrefix + service + ".>"
}

// QueueGroup is the queue group replicas of a service join, given the
// service's fully-qualified name (e.g. embeddingv1connect.EmbeddingServiceName).
func QueueGroup(service string) string {
	return Token(strings.ReplaceAll(service, ".", "_"))
}

// EmbedModel is the Embed subject for one model: each embedder pool
// subscribes to the models it serves, so a GPU and a CPU pool scale
// independently.
func EmbedModel(model string) string {
	return RPCWithSuffix(embeddingv1connect.EmbeddingServiceEmbedProcedure, model)
}

// ConfigBucket is the JetStream KV bucket holding the configuration.
func ConfigBucket() string { return "config" }

// ConfigKey is the key of the active configuration in ConfigBucket; every KV
// revision of the key is one configuration revision.
func ConfigKey() string { return "active" }

// ConfigStatus is the subject a service instance publishes its config
// status on: one JSON object per revision it handled
// (configwatch.Status: service, instance, revision, accepted, error,
// serving, at).
func ConfigStatus(service, instance string) string {
	return Root + ".config.status." + Token(service) + "." + Token(instance)
}

// ConfigStatusAll matches every ConfigStatus subject.
func ConfigStatusAll() string { return Root + ".config.status.>" }

// CacheWritesStream is the JetStream stream carrying cache writes
// (semrouter.cache.v1.StoreRequest messages).
func CacheWritesStream() string { return "CACHE_WRITES" }

// CacheWrite is the subject a completed response is published on.
func CacheWrite(decision string) string {
	return Root + ".cache.writes." + Token(decision)
}

// CacheWritesAll is the subject filter of CacheWritesStream.
func CacheWritesAll() string { return Root + ".cache.writes.>" }

// CacheControl is the broadcast subject (no queue group) on which cache
// invalidations and flushes reach every replica.
func CacheControl() string { return Root + ".cache.control" }

// Latency is the subject a semrouter.classifier.v1.LatencyObservation for a
// model is published on.
func Latency(model string) string { return Root + ".latency." + Token(model) }

// LatencyAll matches every latency subject.
func LatencyAll() string { return Root + ".latency.>" }

// Services lists the fully-qualified names of the semrouter Connect services.
func Services() []string {
	return []string{
		embeddingv1connect.EmbeddingServiceName,
		classifierv1connect.ClassifierServiceName,
		cachev1connect.CacheServiceName,
		configv1connect.ConfigServiceName,
	}
}
