package gateway

import (
	"context"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ReplayRecord is one routing record kept by the router_replay plugin.
// Bodies are redacted (credential fields and bearer/API-key strings) and
// truncated to the plugin's max_body_bytes; headers are never kept.
type ReplayRecord struct {
	// ID names the record (GET /v1/router_replay/{id}); RequestID is the
	// request's x-request-id, when it had one.
	ID        string    `json:"id"`
	RequestID string    `json:"request_id,omitempty"`
	Time      time.Time `json:"time"`
	// ConfigRevision is the revision the request was routed with.
	ConfigRevision uint64  `json:"config_revision,omitempty"`
	RequestedModel string  `json:"requested_model"`
	Recipe         string  `json:"recipe,omitempty"`
	Decision       string  `json:"decision"`
	Confidence     float64 `json:"confidence"`
	Algorithm      string  `json:"algorithm,omitempty"`
	Category       string  `json:"category,omitempty"`
	// SelectionScores are the selection algorithm's per-model scores
	// (x-vsr-selection-scores), when it computes them.
	SelectionScores map[string]float64 `json:"selection_scores,omitempty"`
	SelectedModel   string             `json:"selected_model,omitempty"`
	Reasoning       bool               `json:"reasoning"`
	// Signals are the matched rule names by signal type.
	Signals map[string][]string `json:"signals,omitempty"`
	// ResponsePath is x-vsr-response-path (upstream, cache_hit, blocked,
	// fast_response, …); CacheHit and CacheSimilarity describe a hit.
	ResponsePath    string   `json:"response_path"`
	CacheHit        bool     `json:"cache_hit"`
	CacheSimilarity float32  `json:"cache_similarity,omitempty"`
	Degraded        []string `json:"degraded,omitempty"`
	Status          int      `json:"status"`
	Streamed        bool     `json:"streamed"`
	// LatencyMs is the whole request; RoutingLatencyMs the routing part.
	LatencyMs        float64 `json:"latency_ms"`
	RoutingLatencyMs float64 `json:"routing_latency_ms"`
	PromptTokens     int64   `json:"prompt_tokens,omitempty"`
	CompletionTokens int64   `json:"completion_tokens,omitempty"`
	// ResponseJailbreak is the response_jailbreak verdict, when it ran.
	ResponseJailbreak *ReplayGuard `json:"response_jailbreak,omitempty"`
	// Hallucination is the hallucination plugin's verdict, when it ran
	// (grounded, hallucination_detected, unverified_factual, skipped).
	Hallucination string `json:"hallucination,omitempty"`
	// LooperModels are the models a multi-call algorithm called, in call
	// order (x-vsr-looper-models); Algorithm then names that algorithm.
	LooperModels []string `json:"looper_models,omitempty"`
	// Sticky is x-vsr-sticky: what model switch protection did (new,
	// pinned, switched).
	Sticky string `json:"sticky,omitempty"`
	// Cost is what the request cost upstream, one amount per currency
	// (x-vsr-cost; absent when unpriced or the usage is unknown); a cache
	// hit has cost 0 and CostSaved, what its answer cost when generated.
	// Per-user spend is summed from these records (the user is not a
	// Prometheus label).
	Cost      []Money `json:"cost,omitempty"`
	CostSaved []Money `json:"cost_saved,omitempty"`
	// User is the caller named by the trusted identity header
	// (x-authz-user-id or global.services.authz.identity.user_id_header),
	// when there is one.
	User string `json:"user,omitempty"`

	RequestBody           string     `json:"request_body,omitempty"`
	RequestBodyTruncated  bool       `json:"request_body_truncated,omitempty"`
	ResponseBody          string     `json:"response_body,omitempty"`
	ResponseBodyTruncated bool       `json:"response_body_truncated,omitempty"`
	ToolTrace             []ToolStep `json:"tool_trace,omitempty"`
	ToolTraceTruncated    bool       `json:"tool_trace_truncated,omitempty"`
	// bytes approximates the record's size (Stats).
	bytes int
}

// ReplayGuard is the response_jailbreak verdict of a record.
type ReplayGuard struct {
	Score    float64 `json:"score"`
	Flagged  bool    `json:"flagged"`
	Blocked  bool    `json:"blocked"`
	Degraded bool    `json:"degraded,omitempty"`
}

// ToolStep is one step of a record's tool trace: a call the model asked
// for ("call": Name, Arguments) or a tool's answer ("result": Output).
type ToolStep struct {
	Kind      string `json:"kind"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
	Output    string `json:"output,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// Replay keeps the router_replay records of a gateway: one bounded ring
// per decision (the plugin's max_records), newest records win. It is
// safe for concurrent use.
type Replay struct {
	mu    sync.Mutex
	rings map[string]*replayRing
	seq   atomic.Uint64
	// prefix makes record ids unique across gateway restarts and
	// replicas.
	prefix string
}

type replayRing struct {
	recs []*ReplayRecord // circular, len == capacity
	next int             // where the next record goes
	n    int             // records held
}

// NewReplay returns an empty record store.
func NewReplay(now time.Time) *Replay {
	// the random part keeps ids unique across replicas sharing a store
	return &Replay{rings: map[string]*replayRing{}, prefix: "rr-" + strconv.FormatInt(now.UnixNano(), 36) +
		strconv.FormatUint(uint64(rand.Uint32()), 36) + "-"}
}

// add stores r in the ring of r.Decision, resized to capacity.
func (rp *Replay) add(r *ReplayRecord, capacity int) {
	if capacity <= 0 {
		return
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	g := rp.rings[r.Decision]
	if g == nil {
		g = &replayRing{recs: make([]*ReplayRecord, capacity)}
		rp.rings[r.Decision] = g
	} else if len(g.recs) != capacity {
		g.resize(capacity)
	}
	g.recs[g.next] = r
	g.next = (g.next + 1) % len(g.recs)
	g.n = min(g.n+1, len(g.recs))
}

// resize keeps the newest records that fit.
func (g *replayRing) resize(capacity int) {
	old := g.newestFirst()
	g.recs = make([]*ReplayRecord, capacity)
	keep := old[:min(len(old), capacity)]
	g.n, g.next = len(keep), len(keep)%capacity
	for i, r := range keep {
		g.recs[len(keep)-1-i] = r
	}
}

// newestFirst lists the ring's records, newest first.
func (g *replayRing) newestFirst() []*ReplayRecord {
	out := make([]*ReplayRecord, 0, g.n)
	for i := 1; i <= g.n; i++ {
		out = append(out, g.recs[(g.next-i+len(g.recs))%len(g.recs)])
	}
	return out
}

// ReplayFilter selects records for List.
type ReplayFilter struct {
	// Decision keeps one decision's records ("" every decision).
	Decision string
	// Limit caps the answer (0: every record).
	Limit int
}

// List returns the records that f selects, newest first. Records are
// immutable: callers must not modify them.
func (rp *Replay) List(f ReplayFilter) []*ReplayRecord {
	rp.mu.Lock()
	var out []*ReplayRecord
	for name, g := range rp.rings {
		if f.Decision == "" || f.Decision == name {
			out = append(out, g.newestFirst()...)
		}
	}
	rp.mu.Unlock()
	slices.SortStableFunc(out, func(a, b *ReplayRecord) int { return b.Time.Compare(a.Time) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// Get returns the record named id (its ID or its request id).
func (rp *Replay) Get(id string) (*ReplayRecord, bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var found *ReplayRecord
	for _, g := range rp.rings {
		for _, r := range g.newestFirst() {
			if r.ID == id {
				return r, true
			}
			if found == nil && r.RequestID == id {
				found = r
			}
		}
	}
	return found, found != nil
}

// ReplayStats sums the records held.
type ReplayStats struct {
	Records int `json:"records"`
	// Bytes approximates the memory the records' strings take (in-process
	// store only).
	Bytes int `json:"bytes"`
	// Backend names the store (memory, redis); Dropped counts the records
	// this gateway could not keep in a shared store (replay_store.go).
	Backend string `json:"backend,omitempty"`
	Dropped uint64 `json:"dropped,omitempty"`
}

// Stats counts the records held and their approximate size.
func (rp *Replay) Stats() ReplayStats {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var s ReplayStats
	for _, g := range rp.rings {
		for _, r := range g.newestFirst() {
			s.Records++
			s.Bytes += r.bytes
		}
	}
	return s
}

// Replay is the gateway's router_replay record store.
func (g *Gateway) Replay() *Replay { return g.replay }

// recordReplay stores the record of this exchange when its decision
// enables router_replay. status is what the client got.
func (x *Exchange) recordReplay(status int) {
	r := &x.routed
	if x.req == nil || r.cfgDecision == nil || r.cfgDecision.Plugins.RouterReplay == nil {
		return
	}
	p := r.cfgDecision.Plugins.RouterReplay
	end := x.g.now()
	rec := &ReplayRecord{
		ID:               x.g.replay.prefix + strconv.FormatUint(x.g.replay.seq.Add(1), 10),
		RequestID:        x.hdr("x-request-id"),
		Time:             x.start.UTC(),
		ConfigRevision:   x.t.RevisionNumber(),
		RequestedModel:   x.req.Model,
		Recipe:           x.recipe,
		Decision:         r.cfgDecision.Name,
		ResponsePath:     r.path,
		CacheHit:         r.cacheHit,
		Status:           status,
		Streamed:         x.resp.sseBody,
		LatencyMs:        ms(end.Sub(x.start)),
		RoutingLatencyMs: ms(r.latency),
		PromptTokens:     x.resp.usage.PromptTokens, CompletionTokens: x.resp.usage.CompletionTokens,
	}
	if r.cacheHit {
		rec.CacheSimilarity = r.similarity
	}
	if len(r.degraded) > 0 {
		rec.Degraded = slices.Clone(r.degraded)
	}
	if d := r.decision; d != nil {
		rec.Confidence, rec.Algorithm, rec.Category = d.Confidence, d.Algorithm, d.Category
		if len(d.Scores) > 0 {
			rec.SelectionScores = maps.Clone(d.Scores)
		}
		if len(d.Matched) > 0 {
			rec.Signals = make(map[string][]string, len(d.Matched))
			for k, v := range d.Matched {
				rec.Signals[k] = slices.Clone(v)
			}
		}
	}
	if r.looper != "" {
		rec.Algorithm, rec.LooperModels = r.looper, slices.Clone(r.looperModels)
	}
	if m := r.target.Model; m != nil && r.path != "blocked" && !r.fastReply {
		rec.SelectedModel, rec.Reasoning = m.Name, r.target.Reasoning
	}
	if g := &x.guard; g.scanned || g.degraded {
		rec.ResponseJailbreak = &ReplayGuard{Score: g.score, Flagged: g.flagged, Blocked: g.blocked, Degraded: g.degraded}
	}
	rec.Hallucination = x.halluc.verdict
	if o := r.sticky; o != 0 {
		rec.Sticky = o.String()
	}
	if total, saved := x.Cost(); len(total) > 0 || len(saved) > 0 {
		rec.Cost, rec.CostSaved = total, saved
	}
	rec.User = x.identity().User
	x.captureReplay(rec, p)
	x.g.replayStoreFor(x.t).Add(context.Background(), rec, p.MaxRecords)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
