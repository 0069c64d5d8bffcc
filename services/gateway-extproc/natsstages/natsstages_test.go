package natsstages_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/gateway-extproc/cachekey"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
)

func connectNATS(t *testing.T) *nats.Conn {
	t.Helper()
	return natstest.Connect(t, natstest.RunServer(t))
}

// slowClassifier is a TEST DOUBLE ClassifierService that never answers
// before its deadline.
type slowClassifier struct {
	classifierv1connect.UnimplementedClassifierServiceHandler
}

func (slowClassifier) Classify(ctx context.Context, _ *connect.Request[classifierv1.ClassifyRequest]) (*connect.Response[classifierv1.ClassifyResponse], error) {
	<-ctx.Done()
	return nil, connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
}

func TestStageErrorsMapToSentinels(t *testing.T) {
	nc := connectNATS(t)
	rr := &gateway.RouteRequest{Model: "auto", LastUser: -1}

	// Nobody serves the classifier: unavailable at once.
	c := natsstages.NewClassifier(nc, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Classify(ctx, rr); !errors.Is(err, gateway.ErrStageUnavailable) {
		t.Fatalf("no responders: %v", err)
	}
	if _, err := natsstages.NewEmbedder(nc, "m", 0).Embed(ctx, []string{"x"}); !errors.Is(err, gateway.ErrStageUnavailable) {
		t.Fatalf("embedder no responders: %v", err)
	}

	// A classifier that is too slow: the deadline is honoured.
	path, h := classifierv1connect.NewClassifierServiceHandler(slowClassifier{})
	srv, err := natsrpc.Serve(nc, path, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := c.Classify(short, rr); !errors.Is(err, gateway.ErrStageTimeout) {
		t.Fatalf("deadline: %v", err)
	}
}

// recordingClassifier is a TEST DOUBLE ClassifierService that keeps the
// last request.
type recordingClassifier struct {
	classifierv1connect.UnimplementedClassifierServiceHandler
	got chan *classifierv1.ClassifyRequest
}

func (c recordingClassifier) Classify(_ context.Context, r *connect.Request[classifierv1.ClassifyRequest]) (*connect.Response[classifierv1.ClassifyResponse], error) {
	c.got <- r.Msg
	return connect.NewResponse(&classifierv1.ClassifyResponse{Evaluation: &classifierv1.Evaluation{
		Decision: &classifierv1.Decision{Name: "d"}, Model: &classifierv1.SelectedModel{Name: "m"},
		ModelScores: []*classifierv1.ModelScore{{Model: "m", Score: 0.75}, {Model: "n", Score: 0.5}}}}), nil
}

func TestClassifySendsQueryAndHistoryEmbeddings(t *testing.T) {
	nc := connectNATS(t)
	rc := recordingClassifier{got: make(chan *classifierv1.ClassifyRequest, 1)}
	path, h := classifierv1connect.NewClassifierServiceHandler(rc)
	srv, err := natsrpc.Serve(nc, path, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c := natsstages.NewClassifier(nc, func() []string { return []string{"bge", ""} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := c.Classify(ctx, &gateway.RouteRequest{Model: "auto", LastUser: -1,
		Embedding: []float32{1, 2}, History: [][]float32{{3}, {4}}})
	if err != nil || d.Name != "d" || d.Model != "m" || len(d.Scores) != 2 || d.Scores["m"] != 0.75 || d.Scores["n"] != 0.5 {
		t.Fatalf("decision %+v err %v", d, err)
	}
	qe := (<-rc.got).GetQueryEmbeddings()
	if len(qe) != 6 || qe["bge"].GetValues()[1] != 2 || qe[""].GetValues()[0] != 1 || qe["bge#prev1"].GetValues()[0] != 3 || qe["#prev2"].GetValues()[0] != 4 {
		t.Fatalf("query embeddings %v", qe)
	}
}

func TestFacts(t *testing.T) {
	body := []byte(`{"model":"vllm-sr/privacy","stream":true,"metadata":{"tenant":"acme"},
 "tools":[{"type":"function","function":{"name":"geo"}},{"type":"function","function":{"name":"calc"}}],
 "messages":[{"role":"system","content":"be brief"},
  {"role":"assistant","content":null,"tool_calls":[{"id":"c1"}]},
  {"role":"tool","tool_call_id":"c1","content":"42"},
  {"role":"user","name":"bob","content":[{"type":"text","text":"what is this"},
   {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"input_audio","input_audio":{"data":"x","format":"wav"}},{"type":"mystery"}]}]}`)
	req, err := chatreq.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(n string) string {
		if n == "x-request-id" {
			return "req-1"
		}
		return ""
	}
	f := natsstages.Facts(&gateway.RouteRequest{Model: req.Model, Recipe: "privacy", Messages: req.Messages, LastUser: req.LastUser,
		Header: hdr, Identity: gateway.Identity{User: "u", Groups: []string{"g"}}, Request: req})
	if f.GetRequestedModel() != "vllm-sr/privacy" || f.GetEntrypoint() != "vllm-sr/privacy" || f.GetRecipe() != "privacy" ||
		!f.GetStream() || f.GetRequestId() != "req-1" || f.GetMetadata()["tenant"] != "acme" || f.GetToolDefinitionCount() != 2 ||
		len(f.GetToolNames()) != 2 || f.GetToolNames()[1] != "calc" || f.GetIdentity().GetUser() != "u" || f.GetPath() != "/v1/chat/completions" {
		t.Fatalf("facts %v", f)
	}
	msgs := f.GetMessages()
	if len(msgs) != 4 || msgs[1].GetToolCallCount() != 1 || msgs[2].GetToolCallId() != "c1" || msgs[3].GetName() != "bob" {
		t.Fatalf("messages %v", msgs)
	}
	parts := msgs[3].GetContent()
	want := []commonv1.ContentPartType{commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, commonv1.ContentPartType_CONTENT_PART_TYPE_IMAGE,
		commonv1.ContentPartType_CONTENT_PART_TYPE_AUDIO, commonv1.ContentPartType_CONTENT_PART_TYPE_OTHER}
	for i, p := range parts {
		if p.GetType() != want[i] {
			t.Fatalf("part %d: %v", i, p)
		}
	}
	if parts[1].GetMimeType() != "image/png" || parts[2].GetMimeType() != "wav" || parts[3].GetRawType() != "mystery" || parts[0].GetText() != "what is this" {
		t.Fatalf("parts %v", parts)
	}
}

func TestDecisionFrom(t *testing.T) {
	tests := []struct {
		name  string
		ev    *classifierv1.Evaluation
		check func(t *testing.T, d *gateway.Decision)
	}{
		{"nil evaluation", nil, func(t *testing.T, d *gateway.Decision) {
			if d.Name != "" || d.Model != "" || d.UseReasoning != nil {
				t.Fatalf("%+v", d)
			}
		}},
		{"default route", &classifierv1.Evaluation{Decision: &classifierv1.Decision{Name: "fallback", IsDefault: true},
			Model: &classifierv1.SelectedModel{Name: "small"}}, func(t *testing.T, d *gateway.Decision) {
			if d.Name != "" || d.Model != "small" {
				t.Fatalf("%+v", d)
			}
		}},
		{"full", &classifierv1.Evaluation{
			Decision:  &classifierv1.Decision{Name: "math", Confidence: 0.7},
			Model:     &classifierv1.SelectedModel{Name: "big", Algorithm: "elo"},
			Reasoning: &classifierv1.Reasoning{UseReasoning: true, Effort: "high"},
			Signals: []*classifierv1.SignalMatch{
				{Family: "domain", Name: "physics", Matched: true, Confidence: 0.4},
				{Family: "domain", Name: "math", Matched: true, Confidence: 0.9},
				{Family: "keyword", Name: "kw", Matched: true},
				{Family: "keyword", Name: "miss", Matched: false},
			},
			Projections: &classifierv1.ProjectionOutputs{
				Partitions: []*classifierv1.PartitionOutput{{Name: "p", Winner: "stem"}},
				Mappings:   []*classifierv1.MappingOutput{{Name: "m", Band: "hard"}},
			},
			ModelScores: []*classifierv1.ModelScore{{Model: "small", Score: 0.25}, {Model: "big", Score: 0.8}},
		}, func(t *testing.T, d *gateway.Decision) {
			if d.Name != "math" || d.Confidence != 0.7 || d.Model != "big" || d.Algorithm != "elo" || d.UseReasoning == nil || !*d.UseReasoning ||
				d.ReasoningEffort != "high" || d.Category != "math" || len(d.Matched["keyword"]) != 1 || len(d.Matched["domain"]) != 2 ||
				d.Matched["projection"][0] != "stem" || d.Matched["projection"][1] != "hard" || d.Block != nil ||
				len(d.Scores) != 2 || d.Scores["small"] != 0.25 || d.Scores["big"] != 0.8 {
				t.Fatalf("%+v", d)
			}
		}},
		{"no model scores leave Scores nil", &classifierv1.Evaluation{Decision: &classifierv1.Decision{Name: "d"},
			Model: &classifierv1.SelectedModel{Name: "small", Algorithm: "static"}}, func(t *testing.T, d *gateway.Decision) {
			if d.Scores != nil {
				t.Fatalf("scores %v", d.Scores)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, natsstages.DecisionFrom(tc.ev)) })
	}
}

func TestCacheStorePublishesOnTheWritesStream(t *testing.T) {
	nc := connectNATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: subjects.CacheWritesStream(), Subjects: []string{subjects.CacheWritesAll()}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := natsstages.NewCache(nc, func() string { return "emb" })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cachekey.Compute([]byte(`{"messages":[{"role":"user","content":"q"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := &gateway.CacheEntry{Decision: "facts", Model: "small", Keys: keys, Query: "q", Embedding: []float32{1, 0},
		Partition: gateway.CachePartition{Recipe: "r", Decision: "facts", Model: "small", Scope: "user", ScopeID: "alice", Revision: "e1|||"},
		Body:      []byte(`{"object":"chat.completion"}`), TTL: time.Minute, PromptTokens: 3, CompletionTokens: 4}
	if err := c.Store(ctx, e); err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != subjects.CacheWrite("facts") {
		t.Fatalf("subject %q", msg.Subject)
	}
	var req cachev1.StoreRequest
	if err := proto.Unmarshal(msg.Data, &req); err != nil {
		t.Fatal(err)
	}
	p := req.GetPartition()
	if req.GetExactFingerprint() != keys.Exact || req.GetContextFingerprint() != keys.Context || p.GetScope() != cachev1.CacheScope_CACHE_SCOPE_USER ||
		p.GetScopeId() != "alice" || p.GetDecision() != "facts" || p.GetModel() != "small" || p.GetRecipe() != "r" || p.GetRevision() != "e1|||" || p.GetStream() ||
		req.GetTtl().AsDuration() != time.Minute || req.GetEmbeddingModel() != "emb" || req.GetResponse().GetUsage().GetTotalTokens() != 7 ||
		req.GetResponse().GetStatusCode() != 200 || req.GetQueryText() != "q" {
		t.Fatalf("store request %v", &req)
	}
}

func TestCacheStoreWithoutStreamOrServiceFails(t *testing.T) {
	nc := connectNATS(t)
	c, err := natsstages.NewCache(nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = c.Store(ctx, &gateway.CacheEntry{Partition: gateway.CachePartition{Decision: "d"}, Body: []byte(`{}`)})
	if !errors.Is(err, gateway.ErrStageUnavailable) {
		t.Fatalf("err %v", err)
	}
}

func TestModeAndPartitionMapping(t *testing.T) {
	for in, want := range map[string]cachev1.LookupMode{
		"": cachev1.LookupMode_LOOKUP_MODE_SEMANTIC, "semantic": cachev1.LookupMode_LOOKUP_MODE_SEMANTIC,
		"exact": cachev1.LookupMode_LOOKUP_MODE_EXACT, "exact_then_semantic": cachev1.LookupMode_LOOKUP_MODE_EXACT_THEN_SEMANTIC,
	} {
		if got := natsstages.Mode(in); got != want {
			t.Errorf("Mode(%q) = %v", in, got)
		}
	}
	if p := natsstages.Partition(gateway.CachePartition{Scope: "global", Model: "m"}); p.GetScope() != cachev1.CacheScope_CACHE_SCOPE_GLOBAL || p.GetDecision() != "" {
		t.Errorf("global %v", p)
	}
}

func TestLatencyObservation(t *testing.T) {
	at := time.Unix(100, 0)
	buffered := natsstages.Observation(&gateway.LatencyObservation{Model: "m", Status: 200, TTFT: time.Second, TPOT: time.Millisecond, Total: 2 * time.Second}, at)
	if buffered.GetTtft() != nil || buffered.GetTpot() != nil || buffered.GetTotal().AsDuration() != 2*time.Second || !buffered.GetObservedAt().AsTime().Equal(at) {
		t.Fatalf("buffered %v", buffered)
	}
	streamed := natsstages.Observation(&gateway.LatencyObservation{Model: "m", Streamed: true, TTFT: time.Second, TPOT: time.Millisecond, CompletionTokens: 5}, at)
	if streamed.GetTtft().AsDuration() != time.Second || streamed.GetTpot().AsDuration() != time.Millisecond || streamed.GetUsage().GetCompletionTokens() != 5 {
		t.Fatalf("streamed %v", streamed)
	}
}

func TestEmbedderKeys(t *testing.T) {
	nc := connectNATS(t)
	if k := natsstages.NewEmbedder(nc, "", 0).Keys(); len(k) != 1 || k[0] != "" {
		t.Fatalf("default model keys %q", k)
	}
	if k := natsstages.NewEmbedder(nc, "bge", 0).Keys(); len(k) != 1 || k[0] != "bge" {
		t.Fatalf("named model keys %q", k)
	}
}

func BenchmarkFacts(b *testing.B) {
	body := []byte(`{"model":"auto","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"what is the capital of France?"}],"tools":[{"type":"function","function":{"name":"geo"}}]}`)
	req, err := chatreq.Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	rr := &gateway.RouteRequest{Model: "auto", Messages: req.Messages, LastUser: req.LastUser, Request: req}
	b.ReportAllocs()
	for b.Loop() {
		_ = natsstages.Facts(rr)
	}
}

func BenchmarkDecisionFrom(b *testing.B) {
	ev := &classifierv1.Evaluation{Decision: &classifierv1.Decision{Name: "d", Confidence: 0.5},
		Model: &classifierv1.SelectedModel{Name: "m"}, Reasoning: &classifierv1.Reasoning{UseReasoning: true},
		Signals: []*classifierv1.SignalMatch{{Family: "keyword", Name: "k", Matched: true}, {Family: "domain", Name: "x", Matched: true}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = natsstages.DecisionFrom(ev)
	}
}

// A client's x-request-id that is not UTF-8 must not make the facts
// unmarshalable (the classifier stage failed on every such request).
func TestFactsRequestIDNotUTF8(t *testing.T) {
	req, err := chatreq.Parse([]byte(`{"model":"auto","messages":[{"role":"user","content":"q"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(n string) string {
		if n == "x-request-id" {
			return "id-\xff\xfe-1"
		}
		return ""
	}
	f := natsstages.Facts(&gateway.RouteRequest{Model: req.Model, Messages: req.Messages, LastUser: req.LastUser, Header: hdr, Request: req})
	if _, err := proto.Marshal(f); err != nil {
		t.Fatalf("facts do not marshal: %v", err)
	}
	if got := f.GetRequestId(); got != "id-\uFFFD-1" {
		t.Fatalf("request id %q", got)
	}
}
