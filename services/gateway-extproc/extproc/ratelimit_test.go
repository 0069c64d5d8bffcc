package extproc

import (
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
)

// TestRateLimitImmediateResponse: in ext_proc mode a limited request is
// answered at the request body with an immediate 429 (Envoy never sends
// it upstream); allowed ones carry the remaining budgets on their
// response headers, and the usage of a response body is debited.
func TestRateLimitImmediateResponse(t *testing.T) {
	sp := spec()
	sp.RateLimit = &ratelimit.Settings{Rules: []ratelimit.Rule{
		{Name: "per-user", Requests: 2, Unit: time.Minute},
		{Name: "large-tokens", Model: "large", Tokens: 10, Unit: time.Hour},
	}}
	h := startHarness(t, sp, gateway.Stages{}, nil, nil)

	// request sends one request of user to model and checks that it is
	// let through.
	request := func(t *testing.T, e *envoyStream, user, model string) {
		t.Helper()
		if r := e.send(chatHeaders("x-authz-user-id", user)); r.GetRequestHeaders() == nil {
			t.Fatalf("headers response %v", r)
		}
		b := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
		if r := e.send(reqBody(b, true)); r.GetRequestBody() == nil {
			t.Fatalf("request %s/%s not let through: %v", user, model, r)
		}
	}
	refused := func(t *testing.T, user, model, rule string) {
		t.Helper()
		e := h.open(t)
		e.send(chatHeaders("x-authz-user-id", user))
		resp := e.send(reqBody(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`, true))
		imm := resp.GetImmediateResponse()
		if imm == nil || imm.Status.Code != 429 {
			t.Fatalf("want an immediate 429, got %v", resp)
		}
		hs := setHeaders(imm.Headers)
		if hs["retry-after"] == "" || hs["content-type"] != "application/json" || hs["x-vsr-response-path"] != gateway.PathRateLimited {
			t.Errorf("headers %v", hs)
		}
		if gjson.GetBytes(imm.Body, "error.type").Str != gateway.TypeRateLimitExceeded ||
			gjson.GetBytes(imm.Body, "error.code").Str != gateway.CodeRateLimitExceeded {
			t.Errorf("body %s", imm.Body)
		}
		if msg := gjson.GetBytes(imm.Body, "error.message").Str; !strings.Contains(msg, `"`+rule+`"`) {
			t.Errorf("message %q does not name rule %q", msg, rule)
		}
	}

	t.Run("remaining budget on the response headers", func(t *testing.T) {
		e := h.open(t)
		request(t, e, "alice", "small")
		hs := setHeaders(e.send(respHeaders(200, "application/json")).GetResponseHeaders().Response.HeaderMutation)
		if hs["x-ratelimit-limit-requests"] != "2" || hs["x-ratelimit-remaining-requests"] != "1" || hs["x-ratelimit-reset-requests"] != "30s" {
			t.Errorf("headers %v", hs)
		}
		e.send(respBody(`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, true))
	})
	t.Run("the 3rd request gets an immediate 429", func(t *testing.T) {
		request(t, h.open(t), "alice", "small")
		refused(t, "alice", "small", "per-user")
		request(t, h.open(t), "bob", "small") // bob's budget is his own
	})
	t.Run("token usage of the response body is debited", func(t *testing.T) {
		e := h.open(t)
		request(t, e, "carol", "large")
		e.send(respHeaders(200, "application/json"))
		e.send(respBody(`{"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":4,"total_tokens":12}}`, true))
		refused(t, "carol", "large", "large-tokens")
	})
}

// TestRateLimitHeadersReplaceUpstream: when the router reports its
// budgets on a response, the upstream's other x-ratelimit-* headers (a
// provider's budget of the router's key) are removed, not mixed in.
func TestRateLimitHeadersReplaceUpstream(t *testing.T) {
	sp := spec()
	sp.RateLimit = &ratelimit.Settings{Rules: []ratelimit.Rule{{Name: "per-user", Requests: 2, Unit: time.Minute}}}
	e := startHarness(t, sp, gateway.Stages{}, nil, nil).open(t)
	e.send(chatHeaders("x-authz-user-id", "alice"))
	e.send(reqBody(`{"model":"small","messages":[{"role":"user","content":"hi"}]}`, true))
	hm := e.send(respHeaders(200, "application/json")).GetResponseHeaders().GetResponse().GetHeaderMutation()
	if got := setHeaders(hm)[gateway.HeaderRateLimitLimitRequests]; got != "2" {
		t.Fatalf("x-ratelimit-limit-requests %q, want 2", got)
	}
	for _, n := range []string{gateway.HeaderRateLimitLimitTokens, gateway.HeaderRateLimitRemainingTok, gateway.HeaderRateLimitResetTokens} {
		if !contains(hm.GetRemoveHeaders(), n) {
			t.Errorf("%s not removed: %v", n, hm.GetRemoveHeaders())
		}
	}
	if contains(hm.GetRemoveHeaders(), gateway.HeaderRateLimitLimitRequests) {
		t.Errorf("a header the router sets is also removed: %v", hm.GetRemoveHeaders())
	}
}
