package apimode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

type replayList struct {
	Object string                 `json:"object"`
	Data   []gateway.ReplayRecord `json:"data"`
	Stats  gateway.ReplayStats    `json:"stats"`
}

func getReplay(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// secrets that must never reach a replay record.
const (
	clientKey = "sk-client-secret-0123456789abcdef"
	bodyKey   = "sk-body-secret-abcdefghijklmnop"
	promptKey = "sk-prompt-secret-zyxwvutsrqponmlk"
)

// TestRouterReplay sends requests through API mode with the OpenAI SDK,
// then reads the records back: content, truncation, redaction, ring
// eviction (max_records 3) and lookup by id and by x-request-id.
func TestRouterReplay(t *testing.T) {
	e := newGuardEnv(t, &scoringClassifier{})
	ctx := context.Background()
	// a tool round trip in the history (tool trace), a secret in the
	// prompt and one in a body field
	call := openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
		ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "lookup", Arguments: `{"city":"Rome, Italy"}`}}}
	for i := range 4 {
		params := openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("weather?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{call}}},
			openai.ToolMessage("21C and sunny all day", "call_1"),
			openai.UserMessage(fmt.Sprintf("replay %d my key is %s", i, promptKey)),
		}}
		if _, err := e.client.Chat.Completions.New(ctx, params, option.WithHeader("x-request-id", fmt.Sprintf("req-%d", i)),
			option.WithJSONSet("api_key", bodyKey)); err != nil {
			t.Fatal(err)
		}
	}
	// another decision without the plugin is not recorded
	if _, err := e.client.Chat.Completions.New(ctx, chat("flag hello")); err != nil {
		t.Fatal(err)
	}
	e.waitServed(5)

	code, body := getReplay(t, e.url+apimode.PathRouterReplay, "")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, secret := range []string{clientKey, bodyKey, promptKey, "Bearer"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("records carry %q: %s", secret, body)
		}
	}
	var list replayList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 3 || list.Stats.Records != 3 {
		t.Fatalf("%d records (stats %+v), want the last 3 of decision replay", len(list.Data), list.Stats)
	}
	for i, r := range list.Data {
		want := fmt.Sprintf("req-%d", 3-i) // newest first; req-0 was evicted
		if r.RequestID != want {
			t.Errorf("record %d: request id %q, want %q", i, r.RequestID, want)
		}
		if r.Decision != "replay" || r.SelectedModel != "m1" || r.RequestedModel != "auto" || r.Status != 200 ||
			r.ResponsePath != "upstream" || r.CacheHit || r.Confidence != 0.9 || r.ConfigRevision != 1 {
			t.Errorf("record %d: %+v", i, r)
		}
		if got := r.Signals["keyword"]; len(got) != 1 || got[0] != "kw" {
			t.Errorf("record %d: signals %v", i, r.Signals)
		}
		if r.PromptTokens != 5 || r.CompletionTokens != 50 || r.LatencyMs <= 0 {
			t.Errorf("record %d: tokens %d/%d latency %v", i, r.PromptTokens, r.CompletionTokens, r.LatencyMs)
		}
		if g := r.ResponseJailbreak; g == nil || g.Score != 0.01 || g.Flagged {
			t.Errorf("record %d: response_jailbreak %+v", i, g)
		}
		if len(r.RequestBody) > 160 || !r.RequestBodyTruncated || !strings.HasPrefix(r.RequestBody, `{"messages":[`) {
			t.Errorf("record %d: request body %d bytes, truncated %v: %s", i, len(r.RequestBody), r.RequestBodyTruncated, r.RequestBody)
		}
		if len(r.ResponseBody) != 160 || !r.ResponseBodyTruncated || !strings.Contains(r.ResponseBody, "Paris is the capital") {
			t.Errorf("record %d: response body %d bytes, truncated %v: %s", i, len(r.ResponseBody), r.ResponseBodyTruncated, r.ResponseBody)
		}
		wantTrace := []gateway.ToolStep{
			{Kind: "call", ID: "call_1", Name: "lookup", Arguments: `{"city":`, Truncated: true},
			{Kind: "result", ID: "call_1", Output: "21C and ", Truncated: true},
		}
		if len(r.ToolTrace) != 2 || r.ToolTrace[0] != wantTrace[0] || r.ToolTrace[1] != wantTrace[1] || !r.ToolTraceTruncated {
			t.Errorf("record %d: tool trace %+v (truncated %v), want %+v", i, r.ToolTrace, r.ToolTraceTruncated, wantTrace)
		}
	}

	// the full request body is redacted before it is cut
	rec := list.Data[0]
	code, body = getReplay(t, e.url+apimode.PathRouterReplay+"/"+rec.ID, "")
	var one gateway.ReplayRecord
	if code != http.StatusOK || json.Unmarshal(body, &one) != nil || one.ID != rec.ID {
		t.Fatalf("get %s: %d %s", rec.ID, code, body)
	}
	code, body = getReplay(t, e.url+apimode.PathRouterReplay+"/req-2", "")
	if code != http.StatusOK || json.Unmarshal(body, &one) != nil || one.RequestID != "req-2" {
		t.Fatalf("get by request id: %d %s", code, body)
	}
	if code, _ = getReplay(t, e.url+apimode.PathRouterReplay+"/req-0", ""); code != http.StatusNotFound {
		t.Errorf("evicted record: %d, want 404", code)
	}
	if code, body = getReplay(t, e.url+apimode.PathRouterReplay+"?decision=flag", ""); code != http.StatusOK || !strings.Contains(string(body), `"data":[]`) {
		t.Errorf("decision without the plugin: %d %s", code, body)
	}
	if code, body = getReplay(t, e.url+apimode.PathRouterReplay+"?limit=1", ""); code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Data) != 1 {
		t.Errorf("limit=1: %d %s", code, body)
	}
	if code, _ = getReplay(t, e.url+apimode.PathRouterReplay+"?limit=x", ""); code != http.StatusBadRequest {
		t.Errorf("limit=x: %d, want 400", code)
	}
	resp, err := http.Post(e.url+apimode.PathRouterReplay, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}

// TestRouterReplayStreamRedacted: with a large max_body_bytes a streamed
// request is kept whole: its credentials redacted, the answer
// reassembled from the stream.
func TestRouterReplayStreamRedacted(t *testing.T) {
	e := newGuardEnv(t, &scoringClassifier{})
	s := e.client.Chat.Completions.NewStreaming(context.Background(), chat("replaybig my key is "+promptKey),
		option.WithJSONSet("api_key", bodyKey), option.WithHeader("x-request-id", "big-1"))
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	e.waitServed(1)
	code, body := getReplay(t, e.url+apimode.PathRouterReplay+"/big-1", "")
	var r gateway.ReplayRecord
	if code != http.StatusOK || json.Unmarshal(body, &r) != nil {
		t.Fatalf("get: %d %s", code, body)
	}
	for _, secret := range []string{clientKey, bodyKey, promptKey} {
		if strings.Contains(string(body), secret) {
			t.Errorf("record carries %q: %s", secret, body)
		}
	}
	if !r.Streamed || r.RequestBodyTruncated || r.ResponseBodyTruncated || r.ResponseJailbreak != nil {
		t.Errorf("record %+v", r)
	}
	if !strings.Contains(r.RequestBody, `"api_key":"[REDACTED]"`) || !strings.Contains(r.RequestBody, "my key is [REDACTED]") {
		t.Errorf("request body not redacted: %s", r.RequestBody)
	}
	var completion struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(r.ResponseBody), &completion); err != nil || len(completion.Choices) != 1 || completion.Choices[0].Message.Content != benignAnswer {
		t.Errorf("response body is not the reassembled answer (%v): %.200s", err, r.ResponseBody)
	}
}

// TestRedactJSON: credential members and secrets in
// strings are redacted.
func TestRedactJSON(t *testing.T) {
	got := gateway.RedactJSON([]byte(`{"model":"auto","api_key":"` + bodyKey + `","metadata":{"Authorization":"Bearer abcdefghijkl"},"max_tokens":5,` +
		`"messages":[{"role":"user","content":"use ` + promptKey + ` or Bearer abcdefghijklmnop"}]}`))
	want := `{"model":"auto","api_key":"[REDACTED]","metadata":{"Authorization":"[REDACTED]"},"max_tokens":5,` +
		`"messages":[{"role":"user","content":"use [REDACTED] or Bearer [REDACTED]"}]}`
	if got != want {
		t.Errorf("redacted\n got %s\nwant %s", got, want)
	}
}

// TestRouterReplayAccess: records are served to trusted peers and to the
// management token only.
func TestRouterReplayAccess(t *testing.T) {
	none, err := apimode.ParseTrustedProxies("")
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == apimode.EnvManagementToken {
			return "mgmt-token"
		}
		return ""
	}
	e := newGuardEnv(t, &scoringClassifier{}, apimode.WithTrustedProxies(none), apimode.WithEnv(env))
	cases := []struct {
		name  string
		token string
		want  int
	}{
		{"untrusted peer", "", http.StatusForbidden},
		{"wrong token", "nope", http.StatusForbidden},
		{"management token", "mgmt-token", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := getReplay(t, e.url+apimode.PathRouterReplay, tc.token); code != tc.want {
				t.Errorf("%d %s, want %d", code, body, tc.want)
			}
		})
	}
}
