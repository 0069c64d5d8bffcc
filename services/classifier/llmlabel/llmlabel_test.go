package llmlabel

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestParse(t *testing.T) {
	labels := []string{"SAFE", "RISKY"}
	tests := []struct {
		name    string
		in      string
		want    Answer
		wantErr bool
	}{
		{name: "json", in: `{"label": "RISKY", "confidence": 0.8}`, want: Answer{"RISKY", 0.8}},
		{name: "json case-insensitive label", in: `{"label":"risky","confidence":0.3}`, want: Answer{"RISKY", 0.3}},
		{name: "json without confidence", in: `{"label": "SAFE"}`, want: Answer{"SAFE", 1}},
		{name: "fenced json", in: "```json\n{\"label\": \"SAFE\", \"confidence\": 0.9}\n```", want: Answer{"SAFE", 0.9}},
		{name: "fence without language", in: "```\n{\"label\": \"SAFE\", \"confidence\": 0.6}\n```", want: Answer{"SAFE", 0.6}},
		{name: "bare label", in: "RISKY", want: Answer{"RISKY", 1}},
		{name: "bare quoted label with period", in: ` "safe". `, want: Answer{"SAFE", 1}},
		{name: "unknown json label", in: `{"label": "MAYBE", "confidence": 0.5}`, wantErr: true},
		{name: "confidence above one", in: `{"label": "SAFE", "confidence": 1.5}`, wantErr: true},
		{name: "negative confidence", in: `{"label": "SAFE", "confidence": -0.1}`, wantErr: true},
		{name: "broken json", in: `{"label": "SAFE",`, wantErr: true},
		{name: "garbage", in: "I think this is fine overall", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in, labels)
			if tc.wantErr {
				if !errors.Is(err, ErrUnparsable) {
					t.Fatalf("Parse(%q) = %+v, %v; want ErrUnparsable", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	tests := []struct {
		name   string
		labels []string
		a      Answer
		label  string
		want   float64
	}{
		{"chosen label", []string{"A", "B"}, Answer{"A", 0.8}, "A", 0.8},
		{"other of two", []string{"A", "B"}, Answer{"A", 0.8}, "B", 0.2},
		{"other of four", []string{"A", "B", "C", "D"}, Answer{"B", 0.4}, "D", 0.2},
		{"single label", []string{"A"}, Answer{"A", 0.7}, "B", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Score(tc.labels, tc.a, tc.label); got < tc.want-1e-9 || got > tc.want+1e-9 {
				t.Errorf("Score = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCache(2, time.Minute, func() time.Time { return now })
	c.Put("c", "a", Answer{"X", 1})
	c.Put("c", "b", Answer{"Y", 1})
	if a, ok := c.Get("c", "a"); !ok || a.Label != "X" {
		t.Fatalf("Get a = %+v %v", a, ok)
	}
	if _, ok := c.Get("other", "a"); ok {
		t.Fatal("the key must include the classifier")
	}
	c.Put("c", "c", Answer{"Z", 1}) // evicts b, the least recently used
	if _, ok := c.Get("c", "b"); ok {
		t.Error("b should have been evicted")
	}
	if _, ok := c.Get("c", "a"); !ok {
		t.Error("a was used recently and must stay")
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("c", "a"); ok {
		t.Error("a expired after the ttl")
	}
	if c.Len() != 1 {
		t.Errorf("an expired entry is dropped on read: Len = %d, want 1", c.Len())
	}
}

// fakeLLM is a FAKE OpenAI-compatible chat endpoint (an LLM cannot run
// here): it answers with answer(userText) and records what it received.
type fakeLLM struct {
	srv    *httptest.Server
	calls  atomic.Int32
	answer func(user string) string
	last   atomic.Pointer[chatRequest]
	auth   atomic.Pointer[string]
}

func newFakeLLM(t *testing.T, answer func(string) string) *fakeLLM {
	f := &fakeLLM{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var req chatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.calls.Add(1)
		f.last.Store(&req)
		a := r.Header.Get("Authorization")
		f.auth.Store(&a)
		content := f.answer(req.Messages[len(req.Messages)-1].Content)
		_ = json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": content}}}})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestFamilyEvaluate(t *testing.T) {
	fake := newFakeLLM(t, func(user string) string {
		if strings.Contains(user, "rm -rf") {
			return "```json\n{\"label\": \"RISKY\", \"confidence\": 0.9}\n```"
		}
		return `{"label": "SAFE", "confidence": 0.7}`
	})
	tmpl := template.Must(template.New("p").Parse("Request: {{ .Prompt }}"))
	ep := &Endpoint{URL: fake.srv.URL + "/v1/chat/completions", Model: "small", AccessKey: "k1", Temperature: 0, MaxTokens: 32, Timeout: 5 * time.Second, Template: tmpl}
	risk := &Classifier{Name: "risk", Labels: []string{"SAFE", "RISKY"}, Instructions: "RISKY means destructive.", Endpoint: ep}
	local := &Classifier{Name: "local", Labels: []string{"A"}, Unavailable: errors.New("local has no effect")}
	cache := NewCache(16, time.Minute, nil)

	t.Run("chosen label and spread scores", func(t *testing.T) {
		f := NewFamily([]*Classifier{risk}, fake.srv.Client(), cache)
		o := f.Evaluate(context.Background(), "please rm -rf /")
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		set := signal.NewSet(o)
		if m, ok := set.Lookup(signal.Classifier, "risk:RISKY"); !ok || m.Value != 0.9 {
			t.Errorf("risk:RISKY = %+v %v", m, ok)
		}
		if v, ok := set.Score(signal.Classifier, "risk:SAFE"); !ok || v < 0.0999 || v > 0.1001 {
			t.Errorf("risk:SAFE score = %v %v, want 0.1", v, ok)
		}
		if _, ok := set.Lookup(signal.Classifier, "risk"); !ok {
			t.Error("the classifier's own name must match once it answered")
		}
		req := fake.last.Load()
		if req.Model != "small" || req.MaxTokens != 32 || req.Messages[1].Content != "Request: please rm -rf /" {
			t.Errorf("request = %+v", req)
		}
		if sys := req.Messages[0].Content; !strings.Contains(sys, "RISKY means destructive.") || !strings.Contains(sys, "SAFE, RISKY") || !strings.Contains(sys, `"confidence"`) {
			t.Errorf("system prompt = %q", sys)
		}
		if *fake.auth.Load() != "Bearer k1" {
			t.Errorf("Authorization = %q", *fake.auth.Load())
		}
	})
	t.Run("cache avoids a repeat call", func(t *testing.T) {
		before := fake.calls.Load()
		f := NewFamily([]*Classifier{risk}, fake.srv.Client(), cache)
		f.Evaluate(context.Background(), "please rm -rf /")
		if n := fake.calls.Load() - before; n != 0 {
			t.Errorf("cached text made %d calls", n)
		}
		f.Evaluate(context.Background(), "hello")
		if n := fake.calls.Load() - before; n != 1 {
			t.Errorf("new text made %d calls, want 1", n)
		}
	})
	t.Run("unavailable classifier fails alone", func(t *testing.T) {
		f := NewFamily([]*Classifier{risk, local}, fake.srv.Client(), nil)
		o := f.Evaluate(context.Background(), "hello")
		if o.Err == nil || !strings.Contains(o.Err.Error(), `classifier "local": local has no effect`) {
			t.Errorf("Err = %v", o.Err)
		}
		if _, ok := signal.NewSet(o).Lookup(signal.Classifier, "risk:SAFE"); !ok {
			t.Error("the llm classifier still answers")
		}
	})
	t.Run("endpoint down", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		url := down.URL
		down.Close()
		c := &Classifier{Name: "risk", Labels: risk.Labels, Endpoint: &Endpoint{URL: url + "/v1/chat/completions", Timeout: time.Second}}
		o := NewFamily([]*Classifier{c}, nil, nil).Evaluate(context.Background(), "hello")
		if o.Err == nil || len(o.Matches) != 0 {
			t.Errorf("outcome = %+v", o)
		}
	})
	t.Run("garbage answer", func(t *testing.T) {
		bad := newFakeLLM(t, func(string) string { return "no idea" })
		c := &Classifier{Name: "risk", Labels: risk.Labels, Endpoint: &Endpoint{URL: bad.srv.URL + "/v1/chat/completions"}}
		o := NewFamily([]*Classifier{c}, bad.srv.Client(), nil).Evaluate(context.Background(), "hello")
		if !errors.Is(o.Err, ErrUnparsable) {
			t.Errorf("Err = %v, want ErrUnparsable", o.Err)
		}
	})
	t.Run("request deadline bounds the call", func(t *testing.T) {
		block := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(block); slow.Close() })
		c := &Classifier{Name: "risk", Labels: risk.Labels, Endpoint: &Endpoint{URL: slow.URL + "/v1/chat/completions", Timeout: time.Hour}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		o := NewFamily([]*Classifier{c}, slow.Client(), nil).Evaluate(ctx, "hello")
		if !errors.Is(o.Err, context.Canceled) {
			t.Errorf("Err = %v, want context.Canceled", o.Err)
		}
	})
}

func BenchmarkRecord(b *testing.B) {
	labels := []string{"SAFE", "RISKY", "UNSURE"}
	a := Answer{Label: "RISKY", Confidence: 0.8}
	b.ReportAllocs()
	for b.Loop() {
		o := signal.Outcome{Family: signal.Classifier}
		Record(&o, "risk", labels, a)
	}
}

func BenchmarkParse(b *testing.B) {
	labels := []string{"SAFE", "RISKY"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(`{"label": "RISKY", "confidence": 0.8}`, labels); err != nil {
			b.Fatal(err)
		}
	}
}
