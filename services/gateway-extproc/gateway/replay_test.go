package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func recAt(dec string, i int) *ReplayRecord {
	return &ReplayRecord{ID: fmt.Sprint(dec, i), Decision: dec, Time: time.Unix(int64(i), 0)}
}

func ids(rs []*ReplayRecord) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	return strings.Join(s, ",")
}

// TestReplayRing: per-decision rings keep the newest max_records; a
// changed capacity keeps the newest that fit; List merges newest first.
func TestReplayRing(t *testing.T) {
	rp := NewReplay(time.Unix(0, 0))
	for i := 1; i <= 5; i++ {
		rp.add(recAt("a", i), 3)
	}
	rp.add(recAt("b", 6), 2)
	steps := []struct {
		name string
		do   func()
		f    ReplayFilter
		want string
	}{
		{"evicts the oldest", func() {}, ReplayFilter{Decision: "a"}, "a5,a4,a3"},
		{"merges decisions newest first", func() {}, ReplayFilter{}, "b6,a5,a4,a3"},
		{"limit", func() {}, ReplayFilter{Limit: 2}, "b6,a5"},
		{"shrinks keeping the newest", func() { rp.add(recAt("a", 7), 2) }, ReplayFilter{Decision: "a"}, "a7,a5"},
		{"grows keeping all", func() { rp.add(recAt("a", 8), 4); rp.add(recAt("a", 9), 4) }, ReplayFilter{Decision: "a"}, "a9,a8,a7,a5"},
		{"wraps after growing", func() { rp.add(recAt("a", 10), 4) }, ReplayFilter{Decision: "a"}, "a10,a9,a8,a7"},
		{"unknown decision", func() {}, ReplayFilter{Decision: "zz"}, ""},
	}
	for _, st := range steps {
		st.do()
		if got := ids(rp.List(st.f)); got != st.want {
			t.Errorf("%s: %s, want %s", st.name, got, st.want)
		}
	}
	if r, ok := rp.Get("a9"); !ok || r.ID != "a9" {
		t.Errorf("get a9: %v %v", r, ok)
	}
	if _, ok := rp.Get("a1"); ok {
		t.Error("evicted record found")
	}
	if s := rp.Stats(); s.Records != 5 {
		t.Errorf("stats %+v, want 5 records", s)
	}
}

// TestRedactText names the secrets that are masked and what is kept.
func TestRedactText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"no secret here, skip it", "no secret here, skip it"},
		{"key sk-abcdefghijklmnopqrstuv end", "key [REDACTED] end"},
		{"short sk-abc stays", "short sk-abc stays"},
		{"Authorization: Bearer eyJhbGciOi.xyz123", "Authorization: Bearer [REDACTED]"},
		{"aws AKIAABCDEFGHIJKLMNOP", "aws [REDACTED]"},
		{"task-abcdefghijklmnopqrstuvwxyz is a word", "task-abcdefghijklmnopqrstuvwxyz is a word"},
	}
	for _, tc := range cases {
		if got := RedactText(tc.in); got != tc.want {
			t.Errorf("RedactText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, k := range []string{"api_key", "Authorization", "x-api-key", "access_token", "client_secret", "password", "openaiApiKey"} {
		if !credentialKey(k) {
			t.Errorf("%s not treated as a credential", k)
		}
	}
	for _, k := range []string{"max_tokens", "max_completion_tokens", "model", "content", "role"} {
		if credentialKey(k) {
			t.Errorf("%s treated as a credential", k)
		}
	}
}

// replayBody is a chat request with a tool round trip and a secret.
const replayBody = `{"model":"auto","api_key":"sk-abcdefghijklmnopqrstuvwx","messages":[{"role":"user","content":"weather?"},` +
	`{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Rome\"}"}}]},` +
	`{"role":"tool","tool_call_id":"c1","content":"21C"},{"role":"user","content":"and tomorrow? It should be sunny, I hope, since I plan a long walk."}]}`

const replayAnswer = `{"id":"x","object":"chat.completion","created":1,"model":"qwen3-8b","choices":[{"index":0,"message":{"role":"assistant","content":"Sunny, 24C."},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":5,"total_tokens":35}}`

// BenchmarkReplayRecord measures the record path of a routed request
// (RequestBody → response → End, which records), with and without body
// capture, against the same exchange without the plugin.
func BenchmarkReplayRecord(b *testing.B) {
	cases := []struct {
		name string
		p    *routes.RouterReplayPlugin
	}{
		{"off", nil},
		{"metadata", &routes.RouterReplayPlugin{MaxRecords: 1000, MaxBodyBytes: 4096}},
		{"bodies", &routes.RouterReplayPlugin{MaxRecords: 1000, MaxBodyBytes: 4096, CaptureRequestBody: true, CaptureResponseBody: true}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			spec := testSpec()
			spec.NeedsEmbedding = false
			spec.Decisions = append(spec.Decisions, routes.Decision{Name: "rec", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
				Plugins: routes.Plugins{RouterReplay: tc.p}})
			g := newGateway(b, spec, Stages{Classifier: staticClassifier{&Decision{Name: "rec", Confidence: 0.8,
				Matched: map[string][]string{"keyword": {"k"}}}}})
			body, answer := []byte(replayBody), []byte(replayAnswer)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				x := g.NewExchange()
				x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
				if imm, _ := x.RequestBody(ctx, body); imm != nil {
					b.Fatal(string(imm.Body))
				}
				x.ResponseHeaders(200, "application/json")
				x.ResponseBody(answer, true)
				x.End(200)
			}
			if tc.p != nil {
				rs := g.Replay().List(ReplayFilter{Limit: 1})
				if len(rs) != 1 || strings.Contains(rs[0].RequestBody, "sk-abc") {
					b.Fatalf("records %+v", rs)
				}
			}
		})
	}
}

// BenchmarkStreamScreen measures a blocking stream screen over a 3 kB
// streamed answer (scoring is a FAKE that only looks for a word).
func BenchmarkStreamScreen(b *testing.B) {
	g := newGateway(b, guardSpec("block", nil), Stages{Classifier: &wordScorer{dec: "guard", word: "FORBIDDEN"}})
	in := sseStream(strings.Repeat("all good here. ", 200), 40, "\n")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if out, _ := screenStream(b, g, in, 512); len(out) != len(in) {
			b.Fatal("stream changed")
		}
	}
}

// TestReplayConcurrent: writers and readers share the store (go test
// -race); the ring stays bounded.
func TestReplayConcurrent(t *testing.T) {
	rp := NewReplay(time.Unix(0, 0))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				rp.add(recAt("d", w*1000+i), 50)
				if i%20 == 0 {
					_ = rp.List(ReplayFilter{Limit: 10})
					_, _ = rp.Get("d1")
				}
			}
		}()
	}
	wg.Wait()
	if s := rp.Stats(); s.Records != 50 {
		t.Fatalf("%d records, want 50", s.Records)
	}
}
