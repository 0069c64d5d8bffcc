package toolselect

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

// hashEmbedder is a TEST DOUBLE for the benchmarks: a deterministic
// 512-d vector per text (the real embedder's cost is the embed stage's,
// not the rewrite's; with a warm cache the loop never calls it).
type hashEmbedder struct{}

func (hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 512)
		for j := range v {
			h := fnv.New32a()
			fmt.Fprintf(h, "%d:%s", j, t)
			v[j] = float32(h.Sum32()%1000)/1000 - 0.5
		}
		var n float64
		for _, x := range v {
			n += float64(x * x)
		}
		for j := range v {
			v[j] /= float32(math.Sqrt(n))
		}
		out[i] = v
	}
	return out, nil
}

// benchBody is an agent request with 20 tools, a forced tool_choice and a
// tool round trip in its history.
func benchBody() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"auto","messages":[{"role":"system","content":"You are a helpful agent."},` +
		`{"role":"user","content":"weather in Rome?"},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"tool_3","arguments":"{\"city\":\"Rome\"}"}}]},` +
		`{"role":"tool","tool_call_id":"c1","content":"21C"},{"role":"assistant","content":"Sunny."},` +
		`{"role":"user","content":"What's the weather like in Paris tomorrow?"}],"tools":[`)
	for i := 0; i < 20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"function","function":{"name":"tool_%d","description":"Tool number %d does a useful thing with its arguments","parameters":{"type":"object","properties":{"q":{"type":"string","description":"the query"}},"required":["q"]}}}`, i, i)
	}
	b.WriteString(`],"tool_choice":{"type":"function","function":{"name":"tool_7"}},"temperature":0.2}`)
	return []byte(b.String())
}

func benchPlan(b *testing.B, p *Policy) {
	in := benchBody()
	emb := hashEmbedder{}
	q := Query{Text: "What's the weather like in Paris tomorrow?"}
	qv, _ := emb.Embed(context.Background(), []string{q.Text})
	q.Embedding = qv[0]
	if _, err := p.Plan(context.Background(), emb, in, q); err != nil { // warm the caches
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := p.Plan(context.Background(), emb, in, q)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := e.Apply(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRewriteNameRules: 20 tools, block list, tool_choice fix-up and
// history stripping (no embeddings).
func BenchmarkRewriteNameRules(b *testing.B) {
	p := New(&config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"tool_7", "tool_9"}, StripToolHistory: true}, nil, nil, NewCache(0))
	benchPlan(b, p)
}

// BenchmarkRewriteSemanticFilter: 20 tools scored against the query
// (512-d, cached tool embeddings) and filtered by relevance.
func BenchmarkRewriteSemanticFilter(b *testing.B) {
	p := New(nil, &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.05, PreserveCount: 3}, nil, NewCache(0))
	benchPlan(b, p)
}

// BenchmarkRewriteAddFromDB: 20 request tools plus 20 database tools
// scored with advanced filtering; the top 5 are added.
func BenchmarkRewriteAddFromDB(b *testing.B) {
	var db []string
	for i := 0; i < 20; i++ {
		db = append(db, fmt.Sprintf(`{"type":"function","function":{"name":"db_%d","description":"Database tool %d about weather forecasts and travel"},"tags":["weather"]}`, i, i))
	}
	tools, err := ParseDB([]byte("[" + strings.Join(db, ",") + "]"))
	if err != nil {
		b.Fatal(err)
	}
	p := New(nil, &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0, TopK: 5,
		AdvancedFiltering: &config.AdvancedFiltering{Enabled: true, CandidatePoolSize: 10}},
		&DB{Path: "bench", Tools: tools}, NewCache(0))
	benchPlan(b, p)
}
