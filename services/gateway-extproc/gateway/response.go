package gateway

import (
	"context"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// publishTimeout bounds background cache stores and latency publications.
const publishTimeout = 2 * time.Second

type responseState struct {
	streaming  bool // request asked for a stream
	started    bool
	status     int
	sseBody    bool
	reasm      *sse.Reassembler
	buf        []byte
	overflow   bool
	ended      bool
	headersAt  time.Time
	firstToken time.Time
	finished   bool
	usage      sse.Usage
	hasUsage   bool
	// obs is the latency observation Finish made (windows.go reads it).
	obs *LatencyObservation
	// filter shapes a 2xx SSE body for the client (ForwardChunk): it drops
	// the usage chunk the router asked for, and holds partial events back
	// when alignEvents is set.
	filter      *sse.Filter
	alignEvents bool
}

func (x *Exchange) responseStarted(status int, contentType string) {
	s := &x.resp
	s.started, s.status, s.headersAt = true, status, x.g.now()
	s.sseBody = strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "text/event-stream")
	if s.sseBody {
		s.reasm = sse.New(x.g.maxResp)
		drop := x.usageInjected() && status >= 200 && status < 300
		// A priced stream is event-aligned too, so that ForwardChunk
		// finds data: [DONE] whole to put the cost comment before it.
		if drop || s.alignEvents || x.PricesAnswer(status) {
			s.filter = &sse.Filter{DropUsage: drop}
		}
	}
}

// usageInjected reports whether the router added
// stream_options.include_usage to the upstream request (it needs usage for
// its metrics and the cache) although the client did not ask for it: the
// usage chunk is then recorded but not sent to the client.
func (x *Exchange) usageInjected() bool {
	return x.req != nil && x.auto && x.req.Stream && !x.req.IncludeUsage && x.routed.plugins.IncludeUsage
}

// AlignEvents makes ForwardChunk hold back a partial SSE event until its end
// arrives, so that a stream cut midway leaves the client on an event
// boundary (API mode then appends an error event). Call it before
// ResponseHeaders.
func (x *Exchange) AlignEvents() { x.resp.alignEvents = true }

// ForwardChunk observes response bytes like ResponseBody and returns the
// bytes to send to the client in their place: chunk itself, except for a
// 2xx SSE body whose usage chunk the router injected (dropped) or whose
// events are aligned (AlignEvents). The result may be empty, and is only
// valid until the next call. end marks the last chunk.
func (x *Exchange) ForwardChunk(chunk []byte, end bool) []byte {
	x.ResponseBody(chunk, end)
	out := chunk
	if f := x.resp.filter; f != nil {
		out = f.Next(chunk, end)
	}
	if x.resp.sseBody {
		out = x.spliceStreamCost(out) // cost.go: the x-vsr-cost comment
	}
	return out
}

// StreamingResponse reports whether the upstream answered with SSE (ext_proc
// then switches the response body to STREAMED mode).
func (x *Exchange) StreamingResponse() bool { return x.resp.sseBody }

// ResponseBody observes response bytes as they pass to the client; end
// marks the last chunk. It never alters the bytes (ForwardChunk does).
func (x *Exchange) ResponseBody(chunk []byte, end bool) {
	s := &x.resp
	if s.ended || x.req == nil {
		return
	}
	if s.reasm != nil {
		if s.reasm.Write(chunk) {
			s.firstToken = x.g.now()
		}
		if end {
			s.reasm.Close()
		}
	} else if !s.overflow {
		if len(s.buf)+len(chunk) > x.g.maxResp {
			s.overflow, s.buf = true, nil
		} else {
			s.buf = append(s.buf, chunk...)
		}
	}
	if end {
		s.ended = true
	}
}

// Finish ends the exchange: it publishes the latency observation and, for a
// complete 2xx response of a decision that enables the response cache, the
// completion to the cache. Publications run in the background with their
// own deadline (Gateway.Wait waits for them). Calling Finish twice is a
// no-op.
func (x *Exchange) Finish(ctx context.Context) {
	s := &x.resp
	if s.finished || x.req == nil || !s.started || x.routed.path != "upstream" {
		return
	}
	s.finished = true
	end := x.g.now()
	obs := &LatencyObservation{Status: s.status, Streamed: s.sseBody, Total: end.Sub(x.start)}
	s.obs = obs
	if m := x.routed.target.Model; m != nil {
		obs.Model = m.Name
	}
	if d := x.routed.decision; d != nil {
		obs.Decision = d.Name
	}
	var completion []byte
	complete := false
	if s.reasm != nil {
		r := s.reasm
		s.usage, s.hasUsage = r.Usage, r.HasUsage
		// [DONE] marks a complete stream even when the client hung up
		// before the upstream's end of body was relayed (the OpenAI SDKs
		// close the connection as soon as they read it).
		complete = r.Complete()
		if complete {
			if b, err := r.Completion(); err == nil {
				completion = b
			}
		}
		if !s.firstToken.IsZero() {
			obs.TTFT = s.firstToken.Sub(x.start)
		}
	} else {
		complete = s.ended && !s.overflow && gjson.ValidBytes(s.buf)
		if complete {
			completion = s.buf
			s.usage, s.hasUsage = usageIn(s.buf)
		}
		obs.TTFT = s.headersAt.Sub(x.start)
	}
	obs.PromptTokens, obs.CompletionTokens = s.usage.PromptTokens, s.usage.CompletionTokens
	x.priceAnswer(s.usage, s.hasUsage) // cost.go
	x.debitRateLimit(ctx)
	if x.endpoint == EndpointEmbeddings {
		// No completion: nothing for the latency series, the cache or
		// memory.
		return
	}
	if obs.CompletionTokens > 1 && obs.TTFT > 0 {
		obs.TPOT = (obs.Total - obs.TTFT) / time.Duration(obs.CompletionTokens-1)
	}
	x.g.metrics.Completion(obs.Model, obs.Total, obs.TTFT, obs.TPOT, obs.PromptTokens, obs.CompletionTokens)
	var entry *CacheEntry
	chat := x.endpoint == EndpointChat // a text completion is neither cached nor remembered
	if chat && complete && completion != nil && s.status >= 200 && s.status < 300 && !x.answerFlagged() {
		if entry = x.cacheEntry(completion, obs.Model); entry != nil {
			entry.PromptTokens, entry.CompletionTokens = obs.PromptTokens, obs.CompletionTokens
		}
	}
	if chat && complete && s.status >= 200 && s.status < 300 && !x.answerFlagged() {
		x.storeMemory(ctx)
	}
	lat := x.g.stages.Latency
	if entry == nil && lat == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	x.g.background.Add(1)
	go func() {
		defer x.g.background.Done()
		ctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if entry != nil {
			if err := x.g.stages.Cache.Store(ctx, entry); err != nil {
				x.g.log.Warn("cache store", "decision", entry.Decision, "error", err)
			}
		}
		if lat != nil {
			if err := lat.PublishLatency(ctx, obs); err != nil {
				x.g.log.Warn("publish latency", "model", obs.Model, "error", err)
			}
		}
	}()
}
