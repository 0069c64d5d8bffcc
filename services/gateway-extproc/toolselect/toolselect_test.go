package toolselect

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
)

// body builds a chat request with the given tools (by name, from
// sampleTools), extra top-level members and messages.
func body(t testing.TB, names []string, extra string, messages string) []byte {
	t.Helper()
	byName := map[string][]byte{}
	for _, tl := range sampleTools() {
		byName[tl.Name] = tl.Raw
	}
	var b strings.Builder
	b.WriteString(`{"model":"auto","messages":`)
	if messages == "" {
		messages = `[{"role":"user","content":"What's the weather like in Paris tomorrow?"}]`
	}
	b.WriteString(messages)
	if names != nil {
		b.WriteString(`,"tools":[`)
		for i, n := range names {
			raw, ok := byName[n]
			if !ok {
				t.Fatalf("no sample tool %q", n)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(raw)
		}
		b.WriteByte(']')
	}
	if extra != "" {
		b.WriteString("," + extra)
	}
	b.WriteByte('}')
	if !json.Valid([]byte(b.String())) {
		t.Fatalf("invalid test body %s", b.String())
	}
	return []byte(b.String())
}

// decoded is the part of a request body the tests look at.
type decoded struct {
	Tools []struct {
		Function struct{ Name string } `json:"function"`
	} `json:"tools"`
	ToolChoice any              `json:"tool_choice"`
	Parallel   *bool            `json:"parallel_tool_calls"`
	Functions  any              `json:"functions"`
	Messages   []map[string]any `json:"messages"`
	Raw        map[string]json.RawMessage
}

func decode(t testing.TB, b []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("rewritten body is not JSON: %v\n%s", err, b)
	}
	if err := json.Unmarshal(b, &d.Raw); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d decoded) names() []string {
	out := []string{}
	for _, tl := range d.Tools {
		out = append(out, tl.Function.Name)
	}
	return out
}

func (d decoded) has(key string) bool { _, ok := d.Raw[key]; return ok }

var allEight = []string{"get_weather", "search_web", "send_email", "exec_cmd", "create_calendar_event", "translate_text", "read_file", "stock_price"}

// plan compiles the plugins and runs Plan + Apply.
func plan(t *testing.T, tp *config.ToolsPlugin, sp *config.ToolSelectionPlugin, db *DB, emb Embedder, in []byte) ([]byte, *Edit, error) {
	t.Helper()
	p := New(tp, sp, db, NewCache(0))
	if p == nil {
		t.Fatal("policy is nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := p.Plan(ctx, emb, in, Query{Text: lastUser(in)})
	out, _, aerr := e.Apply(in)
	if aerr != nil {
		t.Fatalf("apply: %v", aerr)
	}
	return out, e, err
}

func lastUser(b []byte) string {
	var d struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	_ = json.Unmarshal(b, &d)
	for i := len(d.Messages) - 1; i >= 0; i-- {
		if d.Messages[i].Role == "user" {
			return d.Messages[i].Content
		}
	}
	return ""
}

// TestNameRules covers the rules that need no embedder: modes, allow /
// block lists and the tool_choice fix-up.
func TestNameRules(t *testing.T) {
	cases := []struct {
		name      string
		tools     *config.ToolsPlugin
		in        []byte
		wantTools []string // nil: no tools member
		check     func(t *testing.T, d decoded)
		unchanged bool
	}{
		{name: "none removes tools, tool_choice and parallel_tool_calls",
			tools: &config.ToolsPlugin{Enabled: true, Mode: "none"},
			in:    body(t, allEight[:3], `"tool_choice":"required","parallel_tool_calls":true,"functions":[{"name":"f"}],"function_call":"auto"`, ""),
			check: func(t *testing.T, d decoded) {
				for _, k := range []string{"tools", "tool_choice", "parallel_tool_calls", "functions", "function_call"} {
					if d.has(k) {
						t.Errorf("%s kept", k)
					}
				}
			}},
		{name: "passthrough leaves the body", tools: &config.ToolsPlugin{Enabled: true, Mode: "passthrough"},
			in: body(t, allEight[:3], `"tool_choice":"auto"`, ""), wantTools: allEight[:3], unchanged: true},
		{name: "allow list", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", AllowTools: []string{"read_file", "get_weather", "not_sent"}},
			in: body(t, allEight, "", ""), wantTools: []string{"get_weather", "read_file"}},
		{name: "block wins over allow", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered",
			AllowTools: []string{"get_weather", "exec_cmd"}, BlockTools: []string{"exec_cmd"}},
			in: body(t, allEight, "", ""), wantTools: []string{"get_weather"}},
		{name: "block only", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"exec_cmd", "read_file"}},
			in: body(t, allEight[:5], "", ""), wantTools: []string{"get_weather", "search_web", "send_email", "create_calendar_event"}},
		{name: "forced removed tool becomes auto", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"exec_cmd"}},
			in:        body(t, allEight[:4], `"tool_choice":{"type":"function","function":{"name":"exec_cmd"}}`, ""),
			wantTools: []string{"get_weather", "search_web", "send_email"},
			check: func(t *testing.T, d decoded) {
				if d.ToolChoice != "auto" {
					t.Errorf("tool_choice = %v, want auto", d.ToolChoice)
				}
			}},
		{name: "forced kept tool stays", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"exec_cmd"}},
			in:        body(t, allEight[:4], `"tool_choice":{"type":"function","function":{"name":"send_email"}}`, ""),
			wantTools: []string{"get_weather", "search_web", "send_email"},
			check: func(t *testing.T, d decoded) {
				if m, _ := d.ToolChoice.(map[string]any); m == nil || m["function"].(map[string]any)["name"] != "send_email" {
					t.Errorf("tool_choice = %v", d.ToolChoice)
				}
			}},
		{name: "allowed_tools choice keeps the remaining tools", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"exec_cmd"}},
			in:        body(t, allEight[:4], `"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"auto","tools":[{"type":"function","function":{"name":"exec_cmd"}},{"type":"function","function":{"name":"send_email"}}]}}`, ""),
			wantTools: []string{"get_weather", "search_web", "send_email"},
			check: func(t *testing.T, d decoded) {
				b, _ := json.Marshal(d.ToolChoice)
				if !strings.Contains(string(b), "send_email") || strings.Contains(string(b), "exec_cmd") || !strings.Contains(string(b), `"mode":"auto"`) {
					t.Errorf("tool_choice = %s", b)
				}
			}},
		{name: "no tool left drops tools and tool_choice", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", AllowTools: []string{"other"}},
			in: body(t, allEight[:2], `"tool_choice":"required","parallel_tool_calls":false`, ""),
			check: func(t *testing.T, d decoded) {
				for _, k := range []string{"tools", "tool_choice", "parallel_tool_calls"} {
					if d.has(k) {
						t.Errorf("%s kept", k)
					}
				}
			}},
		{name: "request without tools is untouched", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", AllowTools: []string{"x"}},
			in: body(t, nil, "", ""), unchanged: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := plan(t, tc.tools, nil, nil, nil, tc.in)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			if tc.unchanged && string(out) != string(tc.in) {
				t.Fatalf("body changed:\n%s", out)
			}
			d := decode(t, out)
			if tc.wantTools != nil && !reflect.DeepEqual(d.names(), tc.wantTools) {
				t.Errorf("tools %v, want %v", d.names(), tc.wantTools)
			}
			if tc.wantTools == nil && !tc.unchanged && d.has("tools") {
				t.Errorf("tools kept: %v", d.names())
			}
			if d.Raw["model"] == nil || len(d.Messages) == 0 {
				t.Errorf("other members lost: %s", out)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

// toolConversation is an agent loop: a call answered by a tool, then an
// assistant message with both text and a call, its result, and a new
// user turn.
const toolConversation = `[
 {"role":"system","content":"be brief"},
 {"role":"user","content":"weather in Paris?"},
 {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
 {"role":"tool","tool_call_id":"c1","content":"12C, rain"},
 {"role":"assistant","content":"It rains; let me check tomorrow.","tool_calls":[{"id":"c2","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
 {"role":"tool","tool_call_id":"c2","content":"14C"},
 {"role":"assistant","content":"","function_call":{"name":"old","arguments":"{}"}},
 {"role":"function","name":"old","content":"x"},
 {"role":"assistant","content":"Tomorrow 14C."},
 {"role":"user","content":"and in Rome?"}]`

// TestStripToolHistory: the conversation stays valid (every remaining
// message is a plain turn, no tool result without its call).
func TestStripToolHistory(t *testing.T) {
	for _, mode := range []string{"none", "passthrough"} {
		t.Run(mode, func(t *testing.T) {
			in := body(t, allEight[:2], `"tool_choice":"auto"`, toolConversation)
			out, _, err := plan(t, &config.ToolsPlugin{Enabled: true, Mode: mode, StripToolHistory: true}, nil, nil, nil, in)
			if err != nil {
				t.Fatal(err)
			}
			d := decode(t, out)
			var got []string
			for _, m := range d.Messages {
				if _, ok := m["tool_calls"]; ok {
					t.Errorf("tool_calls kept: %v", m)
				}
				if _, ok := m["function_call"]; ok {
					t.Errorf("function_call kept: %v", m)
				}
				got = append(got, m["role"].(string)+":"+m["content"].(string))
			}
			want := []string{"system:be brief", "user:weather in Paris?", "assistant:It rains; let me check tomorrow.",
				"assistant:Tomorrow 14C.", "user:and in Rome?"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("messages\n got %q\nwant %q", got, want)
			}
			if mode == "none" && d.has("tools") {
				t.Error("mode none kept tools")
			}
			if mode == "passthrough" && !reflect.DeepEqual(d.names(), allEight[:2]) {
				t.Errorf("passthrough tools %v", d.names())
			}
		})
	}
}

func loadTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := LoadDB(filepath.Join("testdata", "tools_db.json"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

var _ Embedder = (*embedtest.Embedder)(nil)

// TestSemanticRules uses the real USE-Lite embedder: similarity decides.
func TestSemanticRules(t *testing.T) {
	emb := embedtest.UseLite(t)
	weather := body(t, allEight, `"tool_choice":"auto"`, "")
	translate := body(t, allEight, "", `[{"role":"user","content":"Translate this paragraph into German"}]`)
	cases := []struct {
		name      string
		tools     *config.ToolsPlugin
		sel       *config.ToolSelectionPlugin
		db        bool
		in        []byte
		wantTools []string // nil: no tools member
		// keepCount > 0: wantTools is a subsequence of the kept tools,
		// which number keepCount.
		keepCount int
	}{
		{name: "filter by relevance", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.35},
			in: weather, wantTools: []string{"get_weather"}},
		{name: "filter by relevance, other query", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.35},
			in: translate, wantTools: []string{"translate_text"}},
		{name: "preserve_count keeps the most similar", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.99, PreserveCount: 2},
			in: weather, wantTools: []string{"get_weather", "create_calendar_event"}},
		{name: "nothing relevant keeps the tools", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.99},
			in: weather, wantTools: allEight},
		{name: "nothing relevant with fallback_to_empty", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.99, FallbackToEmpty: true},
			in: weather},
		// The tail of the five scores within 0.01 of each other: only the
		// clear leaders are named.
		{name: "semantic_selection keeps five", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", SemanticSelection: true, BlockTools: []string{"exec_cmd"}},
			in: weather, keepCount: 5, wantTools: []string{"get_weather", "create_calendar_event", "translate_text"}},
		{name: "add from the database without duplicates", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.3, TopK: 3},
			db: true, in: body(t, []string{"get_weather", "send_email"}, "", ""),
			wantTools: []string{"get_weather", "send_email", "get_forecast"}},
		{name: "add to a request without tools", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.3, TopK: 1},
			db: true, in: body(t, nil, "", ""), wantTools: []string{"get_forecast"}},
		{name: "add respects the tools block list", tools: &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"get_forecast"}},
			sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.3}, db: true,
			in: body(t, []string{"send_email"}, "", ""), wantTools: []string{"send_email", "get_weather"}},
		{name: "add with nothing similar keeps the request's", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.9},
			db: true, in: body(t, []string{"send_email"}, "", ""), wantTools: []string{"send_email"}},
		{name: "add with nothing similar and fallback_to_empty", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.9, FallbackToEmpty: true},
			db: true, in: body(t, []string{"send_email"}, `"tool_choice":"required"`, "")},
		{name: "advanced filtering: combined score and lexical overlap", sel: &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.2, TopK: 5,
			AdvancedFiltering: &config.AdvancedFiltering{Enabled: true, CandidatePoolSize: 3, MinLexicalOverlap: 1, MinCombinedScore: 0.3}},
			db: true, in: body(t, nil, "", ""), wantTools: []string{"get_forecast", "get_weather"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var db *DB
			if tc.db {
				db = loadTestDB(t)
			}
			out, _, err := plan(t, tc.tools, tc.sel, db, emb, tc.in)
			if err != nil {
				t.Fatalf("plan: %v", err)
			}
			d := decode(t, out)
			if tc.wantTools == nil {
				if d.has("tools") || d.has("tool_choice") {
					t.Fatalf("tools kept: %v (choice %v)", d.names(), d.ToolChoice)
				}
				return
			}
			switch {
			case tc.keepCount > 0:
				if got := d.names(); len(got) != tc.keepCount || !subsequence(tc.wantTools, got) {
					t.Fatalf("tools %v, want %d with %v in order", got, tc.keepCount, tc.wantTools)
				}
			case !reflect.DeepEqual(d.names(), tc.wantTools):
				t.Fatalf("tools %v, want %v", d.names(), tc.wantTools)
			}
			for _, tl := range d.Raw {
				if strings.Contains(string(tl), `"tags"`) || strings.Contains(string(tl), `"category"`) {
					t.Errorf("database-only fields forwarded: %s", out)
				}
			}
		})
	}
}

// failing is an embedder that is down.
type failing struct{}

func (failing) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("no responders")
}

// TestDegrades: without a working embedder the semantic steps are
// skipped and reported; the name-based steps still apply.
func TestDegrades(t *testing.T) {
	in := body(t, allEight, "", "")
	cases := []struct {
		name string
		emb  Embedder
	}{{"no embedder", nil}, {"embedder down", failing{}}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := plan(t, &config.ToolsPlugin{Enabled: true, Mode: "filtered", BlockTools: []string{"exec_cmd"}},
				&config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.9}, nil, tc.emb, in)
			if err == nil {
				t.Fatal("no degradation reported")
			}
			want := []string{"get_weather", "search_web", "send_email", "create_calendar_event", "translate_text", "read_file", "stock_price"}
			if got := decode(t, out).names(); !reflect.DeepEqual(got, want) {
				t.Fatalf("tools %v, want %v", got, want)
			}
		})
	}
	t.Run("late database embeddings", func(t *testing.T) {
		db := loadTestDB(t)
		p := New(nil, &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.3}, db, NewCache(0))
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the request's deadline has already passed
		e, err := p.Plan(ctx, blocked{}, body(t, []string{"send_email"}, "", ""), Query{Text: "weather", Embedding: []float32{1, 0}})
		if err == nil || e.Changed() {
			t.Fatalf("edit %+v, err %v", e, err)
		}
	})
}

// blocked is an embedder that answers only when the caller gives up.
type blocked struct{}

func (blocked) Embed(ctx context.Context, _ []string) ([][]float32, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestToolEmbeddingsAreCached: the second request with the same tools
// embeds only its query.
func TestToolEmbeddingsAreCached(t *testing.T) {
	emb := embedtest.UseLite(t)
	cache := NewCache(0)
	p := New(nil, &config.ToolSelectionPlugin{Enabled: true, Mode: "filter", RelevanceThreshold: 0.35}, nil, cache)
	in := body(t, allEight, "", "")
	for i, wantTexts := range []int64{9, 10} {
		if _, err := p.Plan(context.Background(), emb, in, Query{Text: lastUser(in)}); err != nil {
			t.Fatal(err)
		}
		if got := emb.Texts(); got != wantTexts {
			t.Fatalf("request %d: %d texts embedded in all, want %d", i+1, got, wantTexts)
		}
	}
	if cache.Len() != len(allEight) {
		t.Fatalf("cache holds %d", cache.Len())
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(3)
	for i := uint64(0); i < 10; i++ {
		c.put(i, []float32{float32(i)})
	}
	if c.Len() != 3 {
		t.Fatalf("len %d", c.Len())
	}
	for _, k := range []uint64{7, 8, 9} {
		if _, ok := c.vecs[k]; !ok {
			t.Errorf("newest key %d evicted", k)
		}
	}
}

func TestLoadDBReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name, data string
		want       []string
	}{
		{"not JSON", `[{`, []string{"not valid JSON"}},
		{"not a list", `{"tools":[]}`, []string{"expected a JSON array"}},
		{"bad entries", `[1, {"type":"function","function":{"description":"x"}}, {"type":"custom","custom":{"name":"c"}},
			{"type":"function","function":{"name":"a"}}, {"tool":{"type":"function","function":{"name":"a"}}}]`,
			[]string{"[0]: expected an object", "[1]: function.name is required", `[2]: type "custom"`, `[4]: duplicate tool name "a" (also at [3])`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "db.json")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadDB(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := LoadDB(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "read tools database") {
		t.Fatalf("missing file: %v", err)
	}
}

// subsequence reports whether want appears in got in order.
func subsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// flaky fails its first call, then embeds with the real model.
type flaky struct {
	real  Embedder
	calls atomic.Int64
}

func (f *flaky) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.calls.Add(1) == 1 {
		return nil, errors.New("no responders")
	}
	return f.real.Embed(ctx, texts)
}

// TestDatabaseEmbeddingRetried: a failed database embedding degrades the
// request that waited for it and is retried by the next one.
func TestDatabaseEmbeddingRetried(t *testing.T) {
	emb := &flaky{real: embedtest.UseLite(t)}
	p := New(nil, &config.ToolSelectionPlugin{Enabled: true, Mode: "add", SimilarityThreshold: 0.3, TopK: 1}, loadTestDB(t), NewCache(0))
	in := body(t, []string{"send_email"}, "", "")
	qv, err := emb.real.Embed(context.Background(), []string{lastUser(in)})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Text: lastUser(in), Embedding: qv[0]}
	// send_email's embedding is cached first so that the database
	// embedding is the first embedder call.
	p.cache.put(sampleTools()[2].key(p.cache.seed), qv[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if e, err := p.Plan(ctx, emb, in, q); err == nil || !strings.Contains(err.Error(), "no responders") || e.Changed() {
		t.Fatalf("first request: edit %+v, err %v", e, err)
	}
	e, err := p.Plan(ctx, emb, in, q)
	if err != nil || !reflect.DeepEqual(e.Added, []string{"get_forecast"}) {
		t.Fatalf("second request: edit %+v, err %v", e, err)
	}
}
