package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
)

// userHeaders sends user as the trusted user id.
func userHeaders(user string) func(string) string {
	return func(n string) string {
		if n == "x-authz-user-id" {
			return user
		}
		return ""
	}
}

// limitedRequest runs one chat request of user with body through g and
// returns the immediate answer or the forward plan.
func limitedRequest(t *testing.T, g *Gateway, user, body string) (*Exchange, *Immediate, *Forward) {
	t.Helper()
	x := g.NewExchange()
	if kind, imm := x.RequestHeaders("POST", "/v1/chat/completions", userHeaders(user)); kind != KindChat {
		t.Fatalf("kind %v imm %+v", kind, imm)
	}
	imm, fwd := x.RequestBody(context.Background(), []byte(body))
	return x, imm, fwd
}

func TestRateLimitInTheGateway(t *testing.T) {
	const auto = `{"model":"auto","messages":[{"role":"user","content":"hello"}]}`
	const plain = `{"model":"plain","stream":true,"messages":[{"role":"user","content":"hello there, a longer prompt"}]}`
	cases := []struct {
		name  string
		dec   string
		rules []ratelimit.Rule
		run   func(t *testing.T, g *Gateway)
	}{
		{"answers the router gives itself are not limited", "terse",
			[]ratelimit.Rule{{Name: "one", Requests: 1, Unit: time.Hour}},
			func(t *testing.T, g *Gateway) {
				for i := range 3 {
					x, imm, _ := limitedRequest(t, g, "u", auto)
					if imm == nil || imm.Status != 200 {
						t.Fatalf("request %d: %+v", i, imm)
					}
					x.End(0)
				}
			}},
		{"the selected model decides which rules apply", "complex",
			[]ratelimit.Rule{{Name: "big-model", Model: "qwen3-32b", Requests: 1, Unit: time.Hour}},
			func(t *testing.T, g *Gateway) {
				x, imm, fwd := limitedRequest(t, g, "u", auto)
				if imm != nil || fwd == nil {
					t.Fatalf("first request not forwarded: %+v", imm)
				}
				x.End(200)
				x, imm, _ = limitedRequest(t, g, "u", auto)
				if imm == nil || imm.Status != 429 {
					t.Fatalf("second request: %+v", imm)
				}
				h := headerMap(imm.Headers)
				if h[HeaderResponsePath] != PathRateLimited || h[HeaderRetryAfter] != "3600" || h[HeaderRateLimitRemainingReq] != "0" ||
					h["content-type"] != "application/json" {
					t.Errorf("headers %v", h)
				}
				if gjson.GetBytes(imm.Body, "error.type").Str != TypeRateLimitExceeded || !strings.Contains(gjson.GetBytes(imm.Body, "error.message").Str, `"big-model"`) {
					t.Errorf("body %s", imm.Body)
				}
				if x.errorReason(429) != "rate_limited" {
					t.Errorf("error reason %q", x.errorReason(429))
				}
				x.End(0)
				// another model is not limited by this rule
				if _, imm, _ := limitedRequest(t, g, "u", plain); imm != nil {
					t.Fatalf("plain limited: %+v", imm)
				}
			}},
		{"without usage the tokens are estimated", "business",
			[]ratelimit.Rule{{Name: "tokens", Model: "plain", Tokens: 40, Unit: time.Hour}},
			func(t *testing.T, g *Gateway) {
				x, imm, fwd := limitedRequest(t, g, "u", plain)
				if imm != nil || fwd == nil {
					t.Fatalf("not forwarded: %+v", imm)
				}
				if got := headerMap(x.ResponseHeaders(200, "text/event-stream"))[HeaderRateLimitRemainingTok]; got != "40" {
					t.Errorf("remaining tokens %q before the debit", got)
				}
				// the client asked for no usage: 10 events + request
				// bytes / 4 = 10 + 26 tokens are debited
				var sb strings.Builder
				for range 10 {
					sb.WriteString(`data: {"choices":[{"index":0,"delta":{"content":"w"}}]}` + "\n\n")
				}
				sb.WriteString("data: [DONE]\n\n")
				x.ResponseBody([]byte(sb.String()), true)
				x.Finish(context.Background())
				x.End(0)
				x, imm, _ = limitedRequest(t, g, "u", plain)
				if imm != nil {
					t.Fatalf("36 of 40 tokens spent, yet refused: %s", imm.Body)
				}
				if got := headerMap(x.ResponseHeaders(200, "text/event-stream"))[HeaderRateLimitRemainingTok]; got != "4" {
					t.Errorf("remaining tokens %q, want 4", got)
				}
				x.ResponseBody([]byte(sb.String()), true)
				x.Finish(context.Background())
				if _, imm, _ = limitedRequest(t, g, "u", plain); imm == nil || imm.Status != 429 {
					t.Fatalf("spent budget not refused: %+v", imm)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sp := testSpec()
			sp.NeedsEmbedding = false
			sp.RateLimit = &ratelimit.Settings{Rules: tc.rules}
			now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			g := newGateway(t, sp, Stages{Classifier: &fakeClassifier{dec: &Decision{Name: tc.dec, Confidence: 1}}},
				WithClock(func() time.Time { return now }))
			tc.run(t, g)
		})
	}
}
