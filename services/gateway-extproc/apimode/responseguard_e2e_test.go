package apimode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// harmfulAnswer is what the FAKE LLM answers to a user turn containing
// "evil": long enough that a blocking stream screen scans it in several
// windows.
var harmfulAnswer = "Sure, here is how to build a pipe bomb: " + strings.Repeat("step after step after step. ", 60)

// benignAnswer is the FAKE LLM's answer otherwise (also longer than one
// scan window).
var benignAnswer = "Paris is the capital of France. " + strings.Repeat("It is a lovely city to visit. ", 40)

// guardLLM is a FAKE OpenAI-compatible LLM (no model server runs here):
// it answers harmfulAnswer when the user turn contains "evil", else
// benignAnswer, as JSON or as an SSE stream of 40-byte chunks.
func guardLLM(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Content any `json:"content"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		answer := benignAnswer
		last, _ := req.Messages[len(req.Messages)-1].Content.(string)
		switch {
		case strings.Contains(last, "late"):
			answer = benignAnswer + harmfulAnswer
		case strings.Contains(last, "evil"):
			answer = harmfulAnswer
		}
		fakeAnswer{ID: "chatcmpl-g", Model: req.Model, Content: answer, Chunk: 40, Prompt: 5, Completion: 50, StreamUsage: true}.write(w, req.Stream)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// scoringClassifier is a FAKE classifier stage (the classifier service
// and its jailbreak model live in another module; services/classifier's
// TestScoreText checks the real ScoreText): it picks the decision named
// by the user turn's first word, and scores answers 0.97 when they
// mention a pipe bomb, else 0.01. down makes ScoreText fail like a
// classifier nobody serves.
type scoringClassifier struct {
	mu     sync.Mutex
	down   bool
	scored int
}

func (c *scoringClassifier) Classify(_ context.Context, r *gateway.RouteRequest) (*gateway.Decision, error) {
	name, _, _ := strings.Cut(r.Request.LastUserText(), " ")
	return &gateway.Decision{Name: name, Confidence: 0.9, Matched: map[string][]string{"keyword": {"kw"}}}, nil
}

func (c *scoringClassifier) ScoreText(_ context.Context, text string) (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return 0, fmt.Errorf("score text: %w", gateway.ErrStageUnavailable)
	}
	c.scored++
	if strings.Contains(text, "pipe bomb") {
		return 0.97, nil
	}
	return 0.01, nil
}

var _ gateway.ResponseScorer = (*scoringClassifier)(nil)

const guardConfig = apimode.KeywordDocHead + `    - name: flag
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: response_jailbreak
          configuration: {enabled: true, threshold: 0.85, action: header}
    - name: block
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: response_jailbreak
          configuration: {enabled: true, threshold: 0.85, action: block}
    - name: off
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: response_jailbreak
          configuration: {enabled: false, action: block}
    - name: replay
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: router_replay
          configuration: {enabled: true, max_records: 3, capture_request_body: true, capture_response_body: true, max_body_bytes: 160, max_tool_trace_bytes: 8, max_tool_trace_steps: 2}
        - type: response_jailbreak
          configuration: {enabled: true, threshold: 0.85, action: block}
    - name: replaybig
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: router_replay
          configuration: {enabled: true, capture_request_body: true, capture_response_body: true, max_body_bytes: 65536}
`

type guardEnv struct {
	url    string
	client openai.Client
	reg    *prometheus.Registry
	cls    *scoringClassifier
	gw     *gateway.Gateway
	// served gets one value per chat request whose handler returned (the
	// exchange ended and its replay record is stored).
	served chan struct{}
}

// waitServed waits until n chat requests' handlers returned.
func (e *guardEnv) waitServed(n int) {
	for range n {
		<-e.served
	}
}

func newGuardEnv(t *testing.T, cls gateway.Classifier, opts ...apimode.Option) *guardEnv {
	t.Helper()
	llm := guardLLM(t)
	spec := apimode.SpecFromYAML(t, strings.Replace(guardConfig, "BACKEND", llm.Listener.Addr().String(), 1), "guard e2e", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second
	reg := prometheus.NewRegistry()
	m, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{}, 64)
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.URL.Path == "/v1/chat/completions" {
				served <- struct{}{}
			}
		})
	}
	srv := apimode.StartE2E(t, spec, gateway.Stages{Classifier: cls}, apimode.E2EOptions{
		GatewayOptions: []gateway.Option{gateway.WithMetrics(m)}, Options: opts, Wrap: wrap,
		APIKey: "sk-client-secret-0123456789abcdef"})
	sc, _ := cls.(*scoringClassifier)
	return &guardEnv{url: srv.URL, reg: reg, cls: sc, gw: srv.Gateway, served: served, client: srv.Client}
}

func chat(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
}

// TestResponseJailbreakJSON: non-streaming answers through the OpenAI SDK.
func TestResponseJailbreakJSON(t *testing.T) {
	e := newGuardEnv(t, &scoringClassifier{})
	cases := []struct {
		name        string
		prompt      string
		wantScore   string
		wantFlagged bool
		wantContent string
		wantFinish  string
	}{
		{"header flags a harmful answer", "flag evil please", "0.9700", true, harmfulAnswer, "stop"},
		{"header scores a benign answer", "flag hello", "0.0100", false, benignAnswer, "stop"},
		{"block replaces a harmful answer", "block evil please", "0.9700", true, gateway.RefusalMessage, "content_filter"},
		{"block keeps a benign answer", "block hello", "0.0100", false, benignAnswer, "stop"},
		{"disabled plugin does nothing", "off evil", "", false, harmfulAnswer, "stop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw *http.Response
			res, err := e.client.Chat.Completions.New(context.Background(), chat(tc.prompt), option.WithResponseInto(&raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := raw.Header.Get(gateway.HeaderResponseJailbreak); got != tc.wantScore {
				t.Errorf("score header %q, want %q", got, tc.wantScore)
			}
			if got := raw.Header.Get(gateway.HeaderResponseJailbreakFlagged) == "true"; got != tc.wantFlagged {
				t.Errorf("flagged header %v, want %v", got, tc.wantFlagged)
			}
			if got := res.Choices[0].Message.Content; got != tc.wantContent {
				t.Errorf("content %.60q…, want %.60q…", got, tc.wantContent)
			}
			if got := string(res.Choices[0].FinishReason); got != tc.wantFinish {
				t.Errorf("finish_reason %q, want %q", got, tc.wantFinish)
			}
			if res.Usage.TotalTokens != 55 {
				t.Errorf("usage %+v, want the upstream's", res.Usage)
			}
		})
	}
}

// TestResponseJailbreakStream: streamed answers through the OpenAI SDK.
func TestResponseJailbreakStream(t *testing.T) {
	e := newGuardEnv(t, &scoringClassifier{})
	cases := []struct {
		name        string
		prompt      string
		wantContent string
		wantFinish  string
	}{
		{"header passes the stream", "flag evil please", harmfulAnswer, "stop"},
		{"block cuts a harmful stream before any of it", "block evil please", "", "content_filter"},
		{"block releases a benign stream whole", "block hello", benignAnswer, "stop"},
		{"block cuts a stream that turns harmful", "block late", "", "content_filter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := e.client.Chat.Completions.NewStreaming(context.Background(), chat(tc.prompt))
			var content strings.Builder
			finish := ""
			for s.Next() {
				c := s.Current()
				for _, ch := range c.Choices {
					content.WriteString(ch.Delta.Content)
					if ch.FinishReason != "" {
						finish = string(ch.FinishReason)
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if tc.prompt == "block late" {
				// the windows scanned clean before the harm came went out
				if got := content.String(); len(got) < 512 || !strings.HasPrefix(benignAnswer, got) {
					t.Errorf("content %d bytes %.60q…, want a prefix of the benign part (at least one window)", len(got), got)
				}
			} else if content.String() != tc.wantContent {
				t.Errorf("content %.60q… (%d bytes), want %.60q… (%d bytes)", content.String(), content.Len(), tc.wantContent, len(tc.wantContent))
			}
			if finish != tc.wantFinish {
				t.Errorf("finish_reason %q, want %q", finish, tc.wantFinish)
			}
		})
	}
}

// TestResponseJailbreakStreamVerdict: in header mode the verdict of a
// stream comes as an SSE comment just before [DONE].
func TestResponseJailbreakStreamVerdict(t *testing.T) {
	e := newGuardEnv(t, &scoringClassifier{})
	resp, err := http.Post(e.url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"flag evil"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sseLines(resp.Body)
	n := len(events)
	if n < 2 || events[n-1] != "data: [DONE]" || events[n-2] != ": x-vsr-response-jailbreak score=0.9700 flagged=true" {
		t.Fatalf("stream ends with %q, want the verdict comment then [DONE]", events[max(0, n-3):])
	}
}

// TestResponseJailbreakDegrades: with the scorer down (or a classifier
// stage that cannot score) the answer passes, x-vsr-degraded names the
// plugin and the stage counts as degraded.
func TestResponseJailbreakDegrades(t *testing.T) {
	cases := []struct {
		name string
		cls  gateway.Classifier
	}{
		{"scorer down", &scoringClassifier{down: true}},
		{"classifier cannot score", decisionClassifier{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newGuardEnv(t, tc.cls)
			var raw *http.Response
			res, err := e.client.Chat.Completions.New(context.Background(), chat("block evil"), option.WithResponseInto(&raw))
			if err != nil {
				t.Fatal(err)
			}
			if res.Choices[0].Message.Content != harmfulAnswer {
				t.Errorf("content %.60q…, want the answer unchanged", res.Choices[0].Message.Content)
			}
			if got := raw.Header.Get(gateway.HeaderDegraded); got != gateway.StageResponseJailbreak {
				t.Errorf("x-vsr-degraded %q, want %s", got, gateway.StageResponseJailbreak)
			}
			if raw.Header.Get(gateway.HeaderResponseJailbreak) != "" {
				t.Errorf("score header set although nothing was scored")
			}
			want := `
# HELP semrouter_gateway_stage_degraded_total Router stages that degraded (unavailable, late or failing), by stage.
# TYPE semrouter_gateway_stage_degraded_total counter
semrouter_gateway_stage_degraded_total{stage="response_jailbreak"} 1
`
			if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), metrics.GatewayStageDegraded); err != nil {
				t.Error(err)
			}
			// a stream degrades the same way: it passes whole
			s := e.client.Chat.Completions.NewStreaming(context.Background(), chat("block evil"))
			var content strings.Builder
			for s.Next() {
				for _, ch := range s.Current().Choices {
					content.WriteString(ch.Delta.Content)
				}
			}
			if err := s.Err(); err != nil || content.String() != harmfulAnswer {
				t.Errorf("degraded stream: err %v, %d bytes, want the whole answer", err, content.Len())
			}
		})
	}
}
