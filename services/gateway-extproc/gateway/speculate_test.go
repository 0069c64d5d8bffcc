package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// fakePartitionsCache is a FAKE PartitionsCache: hits by partition, or
// err for the speculative lookup; the sequential Lookup is the embedded
// fakeCache's.
type fakePartitionsCache struct {
	*fakeCache
	byPart map[CachePartition][]CachedResponse
	err    error
	parts  [][]CachePartition
	specQ  []*CacheQuery
	// arrived is closed by the first speculative lookup.
	arrived chan struct{}
	reports []*ServedReport
}

var _ ServedReporter = (*fakePartitionsCache)(nil)

func (f *fakePartitionsCache) ReportServed(_ context.Context, r *ServedReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	return nil
}

func newFakePartitionsCache(seq *fakeCache) *fakePartitionsCache {
	return &fakePartitionsCache{fakeCache: seq, arrived: make(chan struct{})}
}

var _ PartitionsCache = (*fakePartitionsCache)(nil)

func (f *fakePartitionsCache) LookupPartitions(ctx context.Context, q *CacheQuery, parts []CachePartition) ([][]CachedResponse, error) {
	f.mu.Lock()
	f.parts = append(f.parts, slices.Clone(parts))
	f.specQ = append(f.specQ, q)
	if len(f.parts) == 1 {
		close(f.arrived)
	}
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := make([][]CachedResponse, len(parts))
	for i, p := range parts {
		out[i] = slices.Clone(f.byPart[p])
	}
	return out, nil
}

// gatedClassifier is a FAKE Classifier that answers only once gate is
// closed (the speculative lookup arrived) or its deadline passed.
type gatedClassifier struct {
	Classifier
	gate <-chan struct{}
}

func (g gatedClassifier) Classify(ctx context.Context, rr *RouteRequest) (*Decision, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Classifier.Classify(ctx, rr)
}

func TestSpeculativePartitions(t *testing.T) {
	multi := func(scope, mode string) routes.Decision {
		return routes.Decision{Name: "multi", ModelRefs: []routes.ModelRef{{Model: "qwen3-32b"}, {Model: "qwen3-8b-instruct"}},
			Plugins: routes.Plugins{ResponseCache: &routes.ResponseCachePlugin{Enabled: true, Scope: scope, Mode: mode, SimilarityThreshold: 0.9}}}
	}
	p := func(decision, model, scope string) CachePartition {
		return CachePartition{Decision: decision, Model: model, Scope: scope}
	}
	manyDecisions := func(s *routes.Spec) {
		for i := range MaxSpeculativePartitions {
			d := multi("", "")
			d.Name = fmt.Sprint("d", i)
			s.Decisions = append(s.Decisions, d)
		}
	}
	cases := []struct {
		name      string
		edit      func(s *routes.Spec)
		model     string
		hdr       func(string) string
		want      []CachePartition // nil: no speculative lookup
		threshold float32
	}{
		{name: "every decision × its modelRefs", edit: func(s *routes.Spec) { s.Decisions = append(s.Decisions, multi("", "")) },
			want: []CachePartition{p("business", "qwen3-8b", "decision"), p("multi", "qwen3-32b", "decision"), p("multi", "qwen3-8b", "decision")}, threshold: 0.82},
		{name: "global scope partitions are shared", edit: func(s *routes.Spec) {
			s.Decisions[0].Plugins.ResponseCache.Scope = "global"
			s.Decisions = append(s.Decisions, multi("global", ""))
		}, want: []CachePartition{p("", "qwen3-8b", "global"), p("", "qwen3-32b", "global")}, threshold: 0.82},
		{name: "shared partition takes the lowest threshold", edit: func(s *routes.Spec) {
			s.Decisions[0].Plugins.ResponseCache.Scope = "global"
			d := multi("global", "")
			d.ModelRefs, d.Plugins.ResponseCache.SimilarityThreshold = d.ModelRefs[1:], 0.7
			s.Decisions = append(s.Decisions, d)
		}, want: []CachePartition{p("", "qwen3-8b", "global")}, threshold: 0.7},
		{name: "user scope keyed by the caller", edit: func(s *routes.Spec) { s.Decisions[0].Plugins.ResponseCache.Scope = "user" },
			hdr:  func(n string) string { return map[string]string{"x-authz-user-id": "alice"}[n] },
			want: []CachePartition{{Decision: "business", Model: "qwen3-8b", Scope: "user", ScopeID: "alice"}}, threshold: 0.82},
		{name: "user scope without a caller", edit: func(s *routes.Spec) { s.Decisions[0].Plugins.ResponseCache.Scope = "user" }},
		{name: "another mode is left out", edit: func(s *routes.Spec) { s.Decisions = append(s.Decisions, multi("", "exact")) },
			want: []CachePartition{p("business", "qwen3-8b", "decision")}, threshold: 0.82},
		{name: "decision without modelRefs uses the default model", edit: func(s *routes.Spec) { s.Decisions[0].ModelRefs = nil },
			want: []CachePartition{p("business", "qwen3-8b", "decision")}, threshold: 0.82},
		{name: "entrypoint recipe only", model: "vllm-sr/privacy"},
		{name: "client opted out", edit: func(s *routes.Spec) {
			s.Decisions[0].Plugins.ResponseCache.Controls = &routes.CacheControls{Allowed: []string{"no-cache"}}
		}, hdr: func(n string) string { return map[string]string{"x-vsr-cache-control": "no-cache"}[n] }},
		{name: "too many partitions", edit: manyDecisions},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			if tc.edit != nil {
				tc.edit(&spec)
			}
			c := newFakePartitionsCache(&fakeCache{})
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex"}}, Cache: c})
			if tc.want != nil {
				g = newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Cache: c,
					Classifier: gatedClassifier{&fakeClassifier{dec: &Decision{Name: "complex"}}, c.arrived}})
			}
			model, hdr := tc.model, tc.hdr
			if model == "" {
				model = "auto"
			}
			if hdr == nil {
				hdr = noHeaders
			}
			chat(g, hdr, `{"model":"`+model+`","messages":[{"role":"user","content":"q"}]}`)
			if tc.want == nil {
				if len(c.parts) != 0 {
					t.Fatalf("speculative lookup of %v", c.parts)
				}
				return
			}
			if len(c.parts) != 1 || !slices.Equal(c.parts[0], tc.want) {
				t.Fatalf("speculative partitions %v, want %v", c.parts, tc.want)
			}
			if q := c.specQ[0]; q.SimilarityThreshold != tc.threshold || q.Decision != "" || len(q.Embedding) != 2 || q.Keys.Exact == "" {
				t.Fatalf("speculative query %+v", q)
			}
			if len(c.queries) != 0 {
				t.Fatalf("a decision without cache looked up %d times", len(c.queries))
			}
		})
	}
}

func TestSpeculativeOutcome(t *testing.T) {
	business := CachePartition{Decision: "business", Model: "qwen3-8b", Scope: "decision"}
	hit := []CachedResponse{{Similarity: 0.95, Body: []byte(cachedBody), EntryID: "e-business"}}
	low := []CachedResponse{{Similarity: 0.5, Body: []byte(cachedBody), EntryID: "e-low"}}
	seqHit := []CachedResponse{{Decision: "business", Similarity: 0.95, Body: []byte(cachedBody)}}
	hitReport := &ServedReport{Partition: business, Hit: true, EntryID: "e-business"}
	missReport := &ServedReport{Partition: business}
	cases := []struct {
		name        string
		dec         *Decision
		specErr     error
		byPart      map[CachePartition][]CachedResponse
		seqHits     []CachedResponse
		wantStatus  int // 0: forwarded
		wantSeq     int // sequential lookups
		wantDegrade string
		wantReport  *ServedReport // nil: none
	}{
		{name: "hit from the candidate", dec: &Decision{Name: "business"}, byPart: map[CachePartition][]CachedResponse{business: hit},
			wantStatus: 200, wantReport: hitReport},
		{name: "miss from the candidate", dec: &Decision{Name: "business"}, seqHits: seqHit, wantReport: missReport},
		{name: "candidate below the decision's threshold is a miss", dec: &Decision{Name: "business"},
			byPart: map[CachePartition][]CachedResponse{business: low}, wantReport: missReport},
		{name: "block ignores a hit", dec: &Decision{Name: "business", Block: &Block{Signal: "jailbreak"}},
			byPart: map[CachePartition][]CachedResponse{business: hit}, wantStatus: 403},
		{name: "unanticipated model looks up again", dec: &Decision{Name: "business", Model: "plain"},
			byPart: map[CachePartition][]CachedResponse{business: hit}, seqHits: seqHit, wantSeq: 1, wantStatus: 200},
		{name: "cache cannot answer alternatives", dec: &Decision{Name: "business"}, specErr: errors.New("unimplemented"),
			seqHits: seqHit, wantSeq: 1, wantStatus: 200},
		{name: "unavailable cache degrades", dec: &Decision{Name: "business"}, specErr: fmt.Errorf("lookup: %w", ErrStageUnavailable),
			seqHits: seqHit, wantDegrade: "cache"},
		{name: "unavailable cache unused by the decision", dec: &Decision{Name: "complex"}, specErr: fmt.Errorf("lookup: %w", ErrStageUnavailable)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakePartitionsCache(&fakeCache{hits: tc.seqHits})
			c.byPart, c.err = tc.byPart, tc.specErr
			g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{}, Cache: c,
				Classifier: gatedClassifier{&fakeClassifier{dec: tc.dec}, c.arrived}})
			x, imm, _ := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
			var h map[string]string
			status := 0
			if imm != nil {
				status, h = imm.Status, headerMap(imm.Headers)
			} else {
				h = headerMap(x.ResponseHeaders(200, "application/json"))
			}
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d (%v)", status, tc.wantStatus, h)
			}
			if len(c.parts) != 1 || len(c.queries) != tc.wantSeq {
				t.Fatalf("%d speculative and %d sequential lookups, want 1 and %d", len(c.parts), len(c.queries), tc.wantSeq)
			}
			if h["x-vsr-degraded"] != tc.wantDegrade {
				t.Fatalf("x-vsr-degraded %q, want %q", h["x-vsr-degraded"], tc.wantDegrade)
			}
			if wantHit := tc.wantStatus == 200; (h["x-vsr-cache-hit"] == "true") != wantHit || (wantHit && h["x-vsr-selected-decision"] != "business") {
				t.Fatalf("headers %v, want cache hit %v", h, wantHit)
			}
			g.Wait()
			switch {
			case tc.wantReport == nil && len(c.reports) != 0:
				t.Fatalf("served reports %+v, want none", c.reports)
			case tc.wantReport != nil && (len(c.reports) != 1 || *c.reports[0] != *tc.wantReport):
				t.Fatalf("served reports %+v, want one %+v", c.reports, *tc.wantReport)
			}
		})
	}
}

// TestSpeculativeSpan: the speculative lookup has its own cache lookup
// span, handed to the selected decision when its candidate is used and
// ended as unused otherwise.
func TestSpeculativeSpan(t *testing.T) {
	business := CachePartition{Decision: "business", Model: "qwen3-8b", Scope: "decision"}
	cases := []struct {
		name     string
		dec      *Decision
		wantUsed bool
		wantHit  bool
	}{
		{"candidate used", &Decision{Name: "business"}, true, true},
		{"blocked", &Decision{Name: "business", Block: &Block{}}, false, false},
		{"decision without cache", &Decision{Name: "complex"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			c := newFakePartitionsCache(&fakeCache{})
			c.byPart = map[CachePartition][]CachedResponse{business: {{Exact: true, Body: []byte(cachedBody)}}}
			g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{}, Cache: c,
				Classifier: gatedClassifier{&fakeClassifier{dec: tc.dec}, c.arrived}}, WithTracerProvider(tp))
			chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
			var spans []tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.Name == SpanCacheLookup {
					spans = append(spans, s)
				}
			}
			if len(spans) != 1 {
				t.Fatalf("%d cache lookup spans, want 1", len(spans))
			}
			a := attrMap(spans[0].Attributes)
			if !a[AttrCacheSpeculative].AsBool() || a[AttrCacheAlternatives].AsInt64() != 1 ||
				a[AttrCacheSpeculativeUsed].AsBool() != tc.wantUsed || a[AttrCacheHit].AsBool() != tc.wantHit {
				t.Fatalf("span attributes %v", a)
			}
			if tc.wantUsed && a[AttrDecisionName].AsString() != "business" {
				t.Fatalf("span decision %q", a[AttrDecisionName].AsString())
			}
		})
	}
}
