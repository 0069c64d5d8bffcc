package apimode

// What the client sees of the router's own needs: the usage chunk it asks
// the upstream for, mid-stream failures, upstream errors. The LLMs are
// FAKES (httptest servers, see fakes_test.go); the client is the official
// OpenAI Go SDK over real HTTP.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// hitCache is a cache FAKE that answers every lookup with one exact hit.
type hitCache struct{ body string }

func (h hitCache) Lookup(context.Context, *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	return []gateway.CachedResponse{{Decision: "cached", Exact: true, Body: []byte(h.body)}}, nil
}
func (hitCache) Store(context.Context, *gateway.CacheEntry) error { return nil }

var _ gateway.Cache = hitCache{}

// sdkStream streams one chat completion with the SDK and returns the
// content, how many chunks carried no choices (the usage chunk), the last
// usage seen and the stream error.
func sdkStream(c openai.Client, p openai.ChatCompletionNewParams) (string, int, openai.CompletionUsage, error) {
	stream := c.Chat.Completions.NewStreaming(context.Background(), p)
	defer stream.Close()
	var content strings.Builder
	noChoices := 0
	var usage openai.CompletionUsage
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) == 0 {
			noChoices++
			usage = ch.Usage
			continue
		}
		content.WriteString(ch.Choices[0].Delta.Content)
	}
	return content.String(), noChoices, usage, stream.Err()
}

func TestUsageChunkOnlyWhenAsked(t *testing.T) {
	const hit = `{"id":"chatcmpl-c","object":"chat.completion","created":1,"model":"small","choices":[{"index":0,"message":{"role":"assistant","content":"cached answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}`
	fast := routes.Decision{Name: "fast", Plugins: routes.Plugins{FastResponse: &routes.FastResponsePlugin{Message: "no thanks"}}}
	cases := []struct {
		name    string
		path    string // x-vsr-response-path
		dec     routes.Decision
		cache   gateway.Cache
		content string
	}{
		{"upstream stream", "upstream", cachedDecision(), nil, "Hello from small"},
		{"cache hit replay", "cache", cachedDecision(), hitCache{hit}, "cached answer"},
		{"fast_response", "fast_response", fast, nil, "no thanks"},
	}
	for _, tc := range cases {
		for _, include := range []bool{false, true} {
			name := tc.name + map[bool]string{false: " without include_usage", true: " with include_usage"}[include]
			t.Run(name, func(t *testing.T) {
				small := newFakeLLM(t, "small", "stream")
				spec := baseSpec()
				spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", small)}}}
				spec.Decisions = []routes.Decision{tc.dec}
				store := &fakeCache{stored: make(chan *gateway.CacheEntry, 1)}
				st := gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: tc.dec.Name}}, Cache: store}
				if tc.cache != nil {
					st.Cache = tc.cache
				}
				fx := newFixture(t, spec, st)
				p := openai.ChatCompletionNewParams{Model: "auto", Messages: userMsg("Please debug this code")}
				if include {
					p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				}
				content, noChoices, usage, err := sdkStream(fx.client, p)
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if include {
					want = 1
				}
				if content != tc.content || noChoices != want {
					t.Fatalf("content %q, %d chunks without choices, want %q and %d", content, noChoices, tc.content, want)
				}
				if tc.path != "upstream" {
					return
				}
				if include && usage.TotalTokens != 8 {
					t.Fatalf("usage %+v", usage)
				}
				// The router asked the upstream for usage either way and
				// recorded it.
				if up := small.requests()[0]; !strings.Contains(up.Raw, `"include_usage":true`) {
					t.Fatalf("upstream request %s", up.Raw)
				}
				select {
				case e := <-store.stored:
					if e.PromptTokens != 5 || e.CompletionTokens != 3 {
						t.Fatalf("recorded usage %d/%d", e.PromptTokens, e.CompletionTokens)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("completed stream not stored")
				}
			})
		}
	}
}

// rawStream posts a streamed request and returns the whole SSE body.
func rawStream(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"small","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("stream not ended cleanly: %v after %q", err, b.String())
	}
	return b.String()
}

func TestMidStreamFailureEndsWithErrorEvent(t *testing.T) {
	cases := []struct {
		name, mode string
		timeout    time.Duration
		content    string // what the client got before the error
		code, msg  string
	}{
		{"upstream dies", "cut", 10 * time.Second, "Hello from ", "upstream_stream_cut", "upstream stream ended unexpectedly"},
		{"listener timeout", "hold", 300 * time.Millisecond, "first", "upstream_timeout", "request deadline exceeded while streaming"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			llm := newFakeLLM(t, "small", tc.mode)
			spec := baseSpec()
			spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", llm)}}}
			tbl, err := routes.Compile(spec)
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			gw := gateway.New(tbl, gateway.Stages{}, log)
			hs := httptest.NewServer(New(gw, log).Handler(tc.timeout))
			t.Cleanup(hs.Close)
			t.Cleanup(gw.Wait)

			// Raw HTTP: whole events, then one OpenAI-style error event, then
			// a clean end of the response (no [DONE]).
			body := rawStream(t, hs.URL)
			last := body[strings.LastIndex(strings.TrimSuffix(body, "\n\n"), "\n\n")+2:]
			if !strings.HasPrefix(last, `data: {"error":{"message":"`+tc.msg) || !strings.Contains(last, `"code":"`+tc.code+`"`) ||
				!strings.HasSuffix(last, "}}\n\n") || strings.Contains(body, "[DONE]") {
				t.Fatalf("stream tail %q (whole %q)", last, body)
			}

			// The SDK reports the error event as the stream's error.
			c := openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
			content, _, _, err := sdkStream(c, openai.ChatCompletionNewParams{Model: "small", Messages: userMsg("hi")})
			if err == nil || !strings.Contains(err.Error(), tc.msg) || content != tc.content {
				t.Fatalf("content %q, err %v", content, err)
			}
		})
	}
}

func TestUpstreamUnavailableHidesAddresses(t *testing.T) {
	addr := refusedAddr(t)
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{{Name: "s", Endpoint: addr, Weight: 1}}}}
	fx := newFixture(t, spec, gateway.Stages{})
	_, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "small", Messages: userMsg("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != "upstream_unavailable" {
		t.Fatalf("err = %v", err)
	}
	raw := apiErr.RawJSON()
	if apiErr.Message != "upstream unavailable" || strings.Contains(raw, addr) || strings.Contains(raw, "dial") {
		t.Fatalf("502 body exposes internals: %s", raw)
	}
}
