package apimode_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// rateLimitDoc limits each user to 3 requests a minute on m1, and each
// premium-tier user to 100 tokens an hour.
const rateLimitDoc = apimode.KeywordDocHead + `    - name: d
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
global:
  services:
    ratelimit:
      fail_open: false
      providers:
        - type: local-limiter
          rules:
            - name: per-user-requests
              match: {user: "*", model: m1}
              requests_per_unit: 3
              unit: minute
            - name: premium-tokens
              match: {group: premium-tier}
              tokens_per_unit: 100
              unit: hour
`

// usageLLM is a FAKE OpenAI-compatible LLM (no real model runs here)
// whose every answer reports 60 prompt + 50 completion tokens, as JSON or,
// for stream requests, as SSE with a usage chunk when it was asked for.
type usageLLM struct {
	srv   *httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	last  string
}

func newUsageLLM(t *testing.T) *usageLLM {
	f := &usageLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.calls.Add(1)
		f.mu.Lock()
		f.last = string(b)
		f.mu.Unlock()
		if gjson.GetBytes(b, "stream").Bool() {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m1","choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":null}]}`+"\n\n")
			_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
			if gjson.GetBytes(b, "stream_options.include_usage").Bool() {
				_, _ = io.WriteString(w, `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m1","choices":[],"usage":{"prompt_tokens":60,"completion_tokens":50,"total_tokens":110}}`+"\n\n")
			}
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m1","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":60,"completion_tokens":50,"total_tokens":110}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// testClock is the gateway's injected clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type rateLimitEnv struct {
	e     *apimode.E2E
	llm   *usageLLM
	reg   *prometheus.Registry
	clock *testClock
	doc   string
	// handled gets a value when the handler of a request returned (its
	// token debit included): the client may see the answer before.
	handled chan struct{}
}

func startRateLimitEnv(t *testing.T, doc string) *rateLimitEnv {
	t.Helper()
	llm := newUsageLLM(t)
	doc = strings.ReplaceAll(doc, "BACKEND", llm.srv.Listener.Addr().String())
	spec := apimode.SpecFromYAML(t, doc, "ratelimit e2e", func(p config.Problem) bool { return strings.Contains(p.Path, "ratelimit") }, nil)
	reg := prometheus.NewRegistry()
	gm, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	handled := make(chan struct{}, 64)
	e := apimode.StartE2E(t, spec, gateway.Stages{}, apimode.E2EOptions{
		GatewayOptions: []gateway.Option{gateway.WithMetrics(gm), gateway.WithClock(clock.Now)},
		Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() { handled <- struct{}{} }()
				h.ServeHTTP(w, r)
			})
		}})
	return &rateLimitEnv{e: e, llm: llm, reg: reg, clock: clock, doc: doc, handled: handled}
}

// ask sends one chat request as user (groups: comma-separated, "" none)
// for model and returns the completion, the HTTP response and the error.
func (env *rateLimitEnv) ask(t *testing.T, user, groups, model string) (*openai.ChatCompletion, *http.Response, error) {
	t.Helper()
	var resp *http.Response
	opts := []option.RequestOption{option.WithResponseInto(&resp)}
	if user != "" {
		opts = append(opts, option.WithHeader("x-authz-user-id", user))
	}
	if groups != "" {
		opts = append(opts, option.WithHeader("x-authz-user-groups", groups))
	}
	c, err := env.e.Client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x marks the spot")}}, opts...)
	<-env.handled
	return c, resp, err
}

// rateLimitError checks that err is the SDK's view of a 429 from rule
// and returns it.
func rateLimitError(t *testing.T, err error, rule string) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an API error, got %v", err)
	}
	if apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", apiErr.StatusCode, apiErr.RawJSON())
	}
	if apiErr.Type != gateway.TypeRateLimitExceeded || apiErr.Code != gateway.CodeRateLimitExceeded || !strings.Contains(apiErr.Message, `"`+rule+`"`) {
		t.Errorf("error type %q code %q message %q, want rule %q", apiErr.Type, apiErr.Code, apiErr.Message, rule)
	}
	if ra := apiErr.Response.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	if p := apiErr.Response.Header.Get(gateway.HeaderResponsePath); p != gateway.PathRateLimited {
		t.Errorf("response path %q", p)
	}
	return apiErr
}

func TestRateLimitThroughAPIMode(t *testing.T) {
	env := startRateLimitEnv(t, rateLimitDoc)

	t.Run("the 4th request in a minute gets 429 with Retry-After", func(t *testing.T) {
		for i, want := range []string{"2", "1", "0"} {
			_, resp, err := env.ask(t, "alice", "", "m1")
			if err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			if got := resp.Header.Get("x-ratelimit-remaining-requests"); got != want {
				t.Errorf("request %d: remaining %q, want %q", i+1, got, want)
			}
			if got := resp.Header.Get("x-ratelimit-limit-requests"); got != "3" {
				t.Errorf("request %d: limit %q", i+1, got)
			}
		}
		_, _, err := env.ask(t, "alice", "", "auto") // auto routes to m1 too
		apiErr := rateLimitError(t, err, "per-user-requests")
		h := apiErr.Response.Header
		if h.Get("Retry-After") != "20" || h.Get("x-ratelimit-remaining-requests") != "0" || h.Get("x-ratelimit-reset-requests") != "1m0s" {
			t.Errorf("headers Retry-After %q remaining %q reset %q", h.Get("Retry-After"), h.Get("x-ratelimit-remaining-requests"), h.Get("x-ratelimit-reset-requests"))
		}
		if n := env.llm.calls.Load(); n != 3 {
			t.Errorf("the backend got %d requests, want 3", n)
		}
		if got := counter(t, env.reg, metrics.GatewayRateLimited, "rule", "per-user-requests"); got != 1 {
			t.Errorf("%s = %v", metrics.GatewayRateLimited, got)
		}
		if got := counter(t, env.reg, metrics.RequestErrors, "reason", metrics.ReasonRateLimited); got != 1 {
			t.Errorf("%s{reason=rate_limited} = %v", metrics.RequestErrors, got)
		}
		if got := counter(t, env.reg, metrics.GatewayRoutedRequests, "path", gateway.PathRateLimited); got != 1 {
			t.Errorf("routed{path=rate_limited} = %v", got)
		}
	})

	t.Run("each user has its own budget", func(t *testing.T) {
		if _, _, err := env.ask(t, "bob", "", "m1"); err != nil {
			t.Fatalf("bob limited by alice's budget: %v", err)
		}
	})

	t.Run("the budget refills over time, not in bursts", func(t *testing.T) {
		env.clock.Advance(20 * time.Second)
		if _, _, err := env.ask(t, "alice", "", "m1"); err != nil {
			t.Fatalf("after 20s one request is back: %v", err)
		}
		_, _, err := env.ask(t, "alice", "", "m1")
		rateLimitError(t, err, "per-user-requests")
	})

	t.Run("a spent token budget refuses the next request", func(t *testing.T) {
		// carol is premium: her first answer costs 110 tokens of 100.
		_, resp, err := env.ask(t, "carol", "staff, premium-tier", "m1")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("x-ratelimit-limit-tokens") != "100" || resp.Header.Get("x-ratelimit-remaining-tokens") != "100" {
			t.Errorf("token headers limit %q remaining %q", resp.Header.Get("x-ratelimit-limit-tokens"), resp.Header.Get("x-ratelimit-remaining-tokens"))
		}
		_, _, err = env.ask(t, "carol", "premium-tier", "m1")
		apiErr := rateLimitError(t, err, "premium-tokens")
		if !strings.Contains(apiErr.Message, "tokens budget") || apiErr.Response.Header.Get("x-ratelimit-remaining-tokens") != "0" {
			t.Errorf("message %q remaining tokens %q", apiErr.Message, apiErr.Response.Header.Get("x-ratelimit-remaining-tokens"))
		}
	})

	t.Run("streamed usage is debited too", func(t *testing.T) {
		// dave streams through auto: the router asks for the usage chunk
		// (and keeps it from the client, who did not ask for it).
		stream := env.e.Client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x streams")}},
			option.WithHeader("x-authz-user-id", "dave"), option.WithHeader("x-authz-user-groups", "premium-tier"))
		chunks := 0
		for stream.Next() {
			chunks++
		}
		if err := stream.Err(); err != nil || chunks == 0 {
			t.Fatalf("stream: %v after %d chunks", err, chunks)
		}
		stream.Close()
		<-env.handled
		_, _, err := env.ask(t, "dave", "premium-tier", "m1")
		rateLimitError(t, err, "premium-tokens")
	})

	t.Run("a new revision keeps unchanged rules and resets changed ones", func(t *testing.T) {
		swap := func(t *testing.T, rev uint64, doc string) {
			t.Helper()
			spec := apimode.SpecFromYAML(t, doc, "reload", nil, nil)
			spec.Revision = strconv.FormatUint(rev, 10)
			tbl, err := routes.Compile(spec)
			if err != nil {
				t.Fatal(err)
			}
			env.e.Gateway.Swap(tbl)
		}
		// revision 2 adds a rule: alice's request budget is still spent.
		swap(t, 2, env.doc+`            - name: per-model-day
              match: {model: m1}
              requests_per_unit: 1000
              unit: day
`)
		_, _, err := env.ask(t, "alice", "", "m1")
		rateLimitError(t, err, "per-user-requests")
		// revision 3 raises the per-user limit: a changed rule starts afresh.
		swap(t, 3, strings.Replace(env.doc, "requests_per_unit: 3", "requests_per_unit: 10", 1))
		_, resp, err := env.ask(t, "alice", "", "m1")
		if err != nil {
			t.Fatalf("changed rule kept the old budget: %v", err)
		}
		if resp.Header.Get("x-ratelimit-limit-requests") != "10" || resp.Header.Get("x-ratelimit-remaining-requests") != "9" {
			t.Errorf("limit %q remaining %q", resp.Header.Get("x-ratelimit-limit-requests"), resp.Header.Get("x-ratelimit-remaining-requests"))
		}
		// revision 4 drops rate limiting: no refusals, no headers.
		noLimits := env.doc[:strings.Index(env.doc, "global:")]
		swap(t, 4, noLimits)
		for range 12 {
			_, resp, err := env.ask(t, "carol", "premium-tier", "m1")
			if err != nil {
				t.Fatalf("limited without limits: %v", err)
			}
			if resp.Header.Get("x-ratelimit-limit-requests") != "" {
				t.Fatalf("rate limit headers without limits")
			}
		}
	})
}

// TestRateLimitProviderFailure: an envoy-ratelimit service that cannot be
// reached lets requests through with fail_open: true and refuses them
// with 503 otherwise; both count in
// semrouter_gateway_ratelimit_provider_errors_total.
func TestRateLimitProviderFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String() // nothing listens there once closed
	ln.Close()
	for _, failOpen := range []bool{true, false} {
		t.Run("fail_open="+strconv.FormatBool(failOpen), func(t *testing.T) {
			doc := apimode.KeywordDocHead + `    - name: d
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
global:
  services:
    ratelimit:
      fail_open: ` + strconv.FormatBool(failOpen) + `
      providers:
        - {type: envoy-ratelimit, address: "` + dead + `", domain: api}
`
			env := startRateLimitEnv(t, doc)
			_, _, err := env.ask(t, "alice", "", "m1")
			outcome := metrics.RateLimitFailClosed
			if failOpen {
				outcome = metrics.RateLimitFailOpen
				if err != nil {
					t.Fatalf("fail_open let nothing through: %v", err)
				}
			} else {
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != gateway.CodeRateLimitUnavailable {
					t.Fatalf("want 503 %s, got %v", gateway.CodeRateLimitUnavailable, err)
				}
				if apiErr.Response.Header.Get("Retry-After") == "" {
					t.Error("no Retry-After on the 503")
				}
				if n := env.llm.calls.Load(); n != 0 {
					t.Errorf("the backend got %d requests", n)
				}
			}
			if got := counter(t, env.reg, metrics.GatewayRateLimitErrors, "outcome", outcome); got != 1 {
				t.Errorf("%s{outcome=%s} = %v", metrics.GatewayRateLimitErrors, outcome, got)
			}
		})
	}
}

// envoyRLS is a FAKE of Envoy's rate limit service (envoyproxy/ratelimit
// cannot run here), served by a real grpc-go server: each user may send
// two requests, and each member of group premium has 100 tokens under
// ("budget", "tokens").
type envoyRLS struct {
	rlsv3.UnimplementedRateLimitServiceServer
	mu   sync.Mutex
	used map[string]uint64
}

func (f *envoyRLS) ShouldRateLimit(_ context.Context, r *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK}
	for _, d := range r.Descriptors {
		st := &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK}
		resp.Statuses = append(resp.Statuses, st)
		var name string
		var limit uint64
		switch es := d.Entries; {
		case len(es) == 1 && es[0].Key == "user":
			name, limit = "envoy-two-requests", 2
		case len(es) == 2 && es[0].Key == "budget" && es[0].Value == "tokens" && es[1].Key == "group" && es[1].Value == "premium":
			name, limit = "envoy-tokens", 100
		default:
			continue
		}
		hits := uint64(max(r.HitsAddend, 1))
		if d.HitsAddend != nil {
			hits = d.HitsAddend.Value
		}
		k := d.Entries[len(d.Entries)-1].Value // the user, or the group
		f.used[k] += hits
		st.CurrentLimit = &rlsv3.RateLimitResponse_RateLimit{Name: name, RequestsPerUnit: uint32(limit), Unit: rlsv3.RateLimitResponse_RateLimit_MINUTE}
		st.DurationUntilReset = durationpb.New(30 * time.Second)
		if f.used[k] > limit {
			st.Code, resp.OverallCode = rlsv3.RateLimitResponse_OVER_LIMIT, rlsv3.RateLimitResponse_OVER_LIMIT
		} else {
			st.LimitRemaining = uint32(limit - f.used[k])
		}
	}
	return resp, nil
}

// TestEnvoyRateLimitThroughAPIMode: API mode asks the (fake) Envoy rate
// limit service over real gRPC, answers its OVER_LIMIT with 429, and
// reports the tokens a response used.
func TestEnvoyRateLimitThroughAPIMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	rlsv3.RegisterRateLimitServiceServer(srv, &envoyRLS{used: map[string]uint64{}})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	doc := apimode.KeywordDocHead + `    - name: d
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
global:
  services:
    ratelimit:
      providers:
        - {type: envoy-ratelimit, address: "` + ln.Addr().String() + `", domain: api}
`
	env := startRateLimitEnv(t, doc)
	t.Cleanup(env.e.Gateway.CloseRateLimits)

	_, resp, err := env.ask(t, "alice", "", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-ratelimit-remaining-requests") != "1" || resp.Header.Get("x-ratelimit-limit-tokens") != "" {
		t.Errorf("headers %v", resp.Header)
	}
	if _, _, err := env.ask(t, "alice", "", "m1"); err != nil {
		t.Fatal(err)
	}
	env.e.Gateway.Wait()
	_, _, err = env.ask(t, "alice", "", "m1")
	rateLimitError(t, err, "envoy-two-requests")
	if got := counter(t, env.reg, metrics.GatewayRateLimited, "provider", "envoy-ratelimit"); got != 1 {
		t.Errorf("%s{provider=envoy-ratelimit} = %v", metrics.GatewayRateLimited, got)
	}
	// bob (premium) has a token budget: his first answer (110 tokens)
	// is reported and spends it while he still has a request left.
	_, resp, err = env.ask(t, "bob", "premium", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-ratelimit-limit-tokens") != "100" || resp.Header.Get("x-ratelimit-remaining-tokens") != "100" {
		t.Errorf("token headers %v", resp.Header)
	}
	env.e.Gateway.Wait() // the token report runs in the background
	_, _, err = env.ask(t, "bob", "premium", "m1")
	apiErr := rateLimitError(t, err, "envoy-tokens")
	if !strings.Contains(apiErr.Message, "tokens budget") {
		t.Errorf("message %q", apiErr.Message)
	}
}
