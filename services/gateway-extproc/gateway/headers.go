package gateway

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// Response header names (the x-vsr-* contract).
const (
	HeaderSchemaVersion      = "x-vsr-schema-version"
	HeaderResponsePath       = "x-vsr-response-path"
	HeaderSelectedDecision   = "x-vsr-selected-decision"
	HeaderSelectedConfidence = "x-vsr-selected-confidence"
	HeaderSelectedModel      = "x-vsr-selected-model"
	HeaderSelectedReasoning  = "x-vsr-selected-reasoning"
	HeaderSelectedRecipe     = "x-vsr-selected-recipe"
	HeaderSelectedAlgorithm  = "x-vsr-selected-algorithm"
	HeaderSelectedCategory   = "x-vsr-selected-category"
	HeaderSelectionScores    = "x-vsr-selection-scores"
	HeaderInjectedPrompt     = "x-vsr-injected-system-prompt"
	HeaderCacheHit           = "x-vsr-cache-hit"
	HeaderCacheSimilarity    = "x-vsr-cache-similarity"
	HeaderFastResponse       = "x-vsr-fast-response"
	HeaderDegraded           = "x-vsr-degraded"
	HeaderRoutingLatency     = "x-vsr-routing-latency-ms"
	HeaderSelectedModelRoute = "x-selected-model"

	schemaVersion = "2"
)

type signalHeader struct{ signal, header string }

// matchedHeaders maps a signal type to its debug header, in emission order.
func matchedHeaders() [20]signalHeader {
	return [20]signalHeader{
		{"keyword", "x-vsr-matched-keywords"},
		{"embedding", "x-vsr-matched-embeddings"},
		{"domain", "x-vsr-matched-domains"},
		{"fact_check", "x-vsr-matched-fact-check"},
		{"user_feedback", "x-vsr-matched-user-feedback"},
		{"reask", "x-vsr-matched-reask"},
		{"preference", "x-vsr-matched-preference"},
		{"language", "x-vsr-matched-language"},
		{"context", "x-vsr-matched-context"},
		{"structure", "x-vsr-matched-structure"},
		{"complexity", "x-vsr-matched-complexity"},
		{"modality", "x-vsr-matched-modality"},
		{"authz", "x-vsr-matched-authz"},
		{"jailbreak", "x-vsr-matched-jailbreak"},
		{"pii", "x-vsr-matched-pii"},
		{"kb", "x-vsr-matched-kb"},
		{"conversation", "x-vsr-matched-conversation"},
		{"event", "x-vsr-matched-event"},
		{"input_modality", "x-vsr-matched-input-modality"},
		{"projection", "x-vsr-matched-projections"},
	}
}

// appendRouteHeaders adds the routing facts of this exchange.
func (x *Exchange) appendRouteHeaders(h []Header) []Header {
	r := &x.routed
	h = append(h, Header{HeaderSchemaVersion, schemaVersion}, Header{HeaderResponsePath, r.path})
	if len(r.degraded) > 0 {
		h = append(h, Header{HeaderDegraded, strings.Join(r.degraded, ",")})
	}
	if r.cacheHit {
		h = append(h, Header{HeaderCacheHit, "true"})
		if r.decision != nil && r.decision.Name != "" {
			h = append(h, Header{HeaderSelectedDecision, r.decision.Name})
		}
		if x.debug {
			h = append(h, Header{HeaderCacheSimilarity, strconv.FormatFloat(float64(r.similarity), 'f', 4, 32)})
		}
		return h
	}
	if r.fastReply {
		h = append(h, Header{HeaderFastResponse, "true"})
	}
	if x.auto && x.recipe != "" {
		h = append(h, Header{HeaderSelectedRecipe, x.recipe})
	}
	if d := r.decision; d != nil {
		if d.Name != "" {
			h = append(h, Header{HeaderSelectedDecision, d.Name},
				Header{HeaderSelectedConfidence, strconv.FormatFloat(d.Confidence, 'f', 4, 64)})
		}
		if d.Algorithm != "" {
			h = append(h, Header{HeaderSelectedAlgorithm, d.Algorithm})
		}
	}
	if r.target.Model != nil && !r.fastReply && r.path != "blocked" {
		h = append(h, Header{HeaderSelectedModel, r.target.Model.Name})
		if x.auto {
			h = append(h, Header{HeaderSelectedReasoning, onOff(r.target.Reasoning)})
		}
	}
	if x.auto {
		ms := float64(r.latency) / float64(time.Millisecond)
		h = append(h, Header{HeaderRoutingLatency, strconv.FormatFloat(ms, 'f', 3, 64)})
	}
	h = x.appendRAGHeaders(h)
	h = x.appendMemoryHeader(h)
	h = x.appendCompressHeader(h)
	h = x.appendStickyHeader(h)
	h = x.appendImageGenHeader(h)
	if !x.debug {
		return h
	}
	if r.injected {
		h = append(h, Header{HeaderInjectedPrompt, "true"})
	}
	if d := r.decision; d != nil {
		if d.Category != "" {
			h = append(h, Header{HeaderSelectedCategory, d.Category})
		}
		if len(d.Scores) > 0 {
			h = append(h, Header{HeaderSelectionScores, formatScores(d.Scores)})
		}
		for _, mh := range matchedHeaders() {
			if names := d.Matched[mh.signal]; len(names) > 0 {
				h = append(h, Header{mh.header, strings.Join(names, ",")})
			}
		}
	}
	return h
}

// formatScores writes the selection algorithm's per-model scores as
// "model=score" pairs (4 decimals) sorted by model name, comma-separated.
func formatScores(scores map[string]float64) string {
	names := slices.Sorted(maps.Keys(scores))
	var b strings.Builder
	for i, m := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(scores[m], 'f', 4, 64))
	}
	return b.String()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ResponseHeaders records the upstream status and content type and returns
// the x-vsr-* headers to add to the client response. Routing facts are only
// attached to 2xx responses; the response path is always attached.
func (x *Exchange) ResponseHeaders(status int, contentType string) []Header {
	x.responseStarted(status, contentType)
	if x.req == nil {
		return nil
	}
	if status >= 200 && status < 300 {
		return x.appendRateLimitHeaders(x.appendRouteHeaders(make([]Header, 0, 12)))
	}
	h := []Header{{HeaderSchemaVersion, schemaVersion}, {HeaderResponsePath, x.routed.path}}
	if len(x.routed.degraded) > 0 {
		h = append(h, Header{HeaderDegraded, strings.Join(x.routed.degraded, ",")})
	}
	return x.appendRateLimitHeaders(h)
}

// fastResponse answers with the fast_response plugin message.
func (x *Exchange) fastResponse(msg string) *Immediate {
	x.routed.path, x.routed.fastReply = "fast_response", true
	created := x.start.Unix()
	b := make([]byte, 0, 192+len(msg))
	b = append(b, `{"id":"chatcmpl-fast-`...)
	b = strconv.AppendInt(b, x.start.UnixNano(), 36)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = chatreq.AppendJSONString(b, x.req.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = chatreq.AppendJSONString(b, msg)
	b = append(b, `},"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`...)
	ctype := "application/json"
	if x.req.Stream {
		if replay, err := sse.Replay(b, x.req.IncludeUsage); err == nil {
			b, ctype = replay, "text/event-stream"
		}
	}
	return &Immediate{Status: http.StatusOK, Body: b,
		Headers: x.appendRouteHeaders([]Header{{"content-type", ctype}})}
}
