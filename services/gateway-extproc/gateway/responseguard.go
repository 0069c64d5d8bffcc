package gateway

import (
	"context"
	"errors"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// ResponseScorer scores a model's answer for jailbreak / harmful content
// with the classifier's jailbreak model. A Classifier stage that
// implements it serves the response_jailbreak plugin (natsstages does,
// with ClassifierService/ScoreText).
type ResponseScorer interface {
	ScoreText(ctx context.Context, text string) (float64, error)
}

// response_jailbreak headers and names.
const (
	// HeaderResponseJailbreak carries the answer's score (4 decimals).
	HeaderResponseJailbreak = "x-vsr-response-jailbreak"
	// HeaderResponseJailbreakFlagged is "true" when the score reached the
	// plugin's threshold.
	HeaderResponseJailbreakFlagged = "x-vsr-response-jailbreak-flagged"
	// StageResponseJailbreak is the degraded stage name
	// (x-vsr-degraded, semrouter_gateway_stage_degraded_total).
	StageResponseJailbreak = "response_jailbreak"
	// FinishContentFilter is the finish_reason of a blocked answer.
	FinishContentFilter = "content_filter"
	// RefusalMessage is the content of a blocked non-streaming answer.
	RefusalMessage = "The response was withheld by the router's content filter."
)

// errNoScorer: the classifier stage cannot score texts.
var errNoScorer = errors.New("the classifier stage does not score answers")

// guardResult is what the response_jailbreak plugin found.
type guardResult struct {
	scanned, flagged, blocked, degraded bool
	score                               float64
}

// responseGuard returns the response_jailbreak plugin that applies to the
// answer of this exchange (nil: none): an upstream 2xx answer of a
// decision that enables it.
func (x *Exchange) responseGuard(status int) *routes.ResponseJailbreakPlugin {
	if x.req == nil || x.routed.path != "upstream" || x.routed.cfgDecision == nil || status < 200 || status >= 300 {
		return nil
	}
	return x.routed.cfgDecision.Plugins.ResponseJailbreak
}

// scoreAnswer scores text under the stage deadline. ok is false when the
// stage degraded (the answer then passes unflagged).
func (x *Exchange) scoreAnswer(ctx context.Context, p *routes.ResponseJailbreakPlugin, text []byte) (ok bool) {
	g := &x.guard
	g.scanned = true
	if len(text) == 0 {
		g.score, g.flagged = 0, false
		return true
	}
	sc, _ := x.g.stages.Classifier.(ResponseScorer)
	if sc == nil {
		x.guardDegraded(errNoScorer)
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	defer cancel()
	score, err := sc.ScoreText(ctx, string(text))
	if err != nil {
		x.guardDegraded(err)
		return false
	}
	g.score = score
	g.flagged = score >= p.Threshold
	return true
}

func (x *Exchange) guardDegraded(err error) {
	if !x.guard.degraded {
		x.guard.degraded = true
		x.degrade(StageResponseJailbreak, err)
	}
}

// ScreenBody applies the response plugins to a complete non-streaming
// answer before its headers are sent: call it with the upstream status
// and body before ResponseHeaders. It returns the body to send and the
// headers to add. response_jailbreak runs first (screenJailbreak); an
// answer it did not block then goes through the hallucination plugin
// (hallucination.go).
func (x *Exchange) ScreenBody(ctx context.Context, status int, body []byte) ([]byte, []Header) {
	out, h := x.screenJailbreak(ctx, status, body)
	if x.guard.blocked {
		return out, h
	}
	out, hh := x.screenHallucination(ctx, status, out)
	return out, append(h, hh...)
}

// screenJailbreak applies the response_jailbreak plugin: it returns the
// body to send (a refusal with finish_reason content_filter when the
// plugin blocks a flagged answer, else body) and the headers to add. A
// stage that is down or late degrades (x-vsr-degraded:
// response_jailbreak) and the answer passes.
func (x *Exchange) screenJailbreak(ctx context.Context, status int, body []byte) ([]byte, []Header) {
	p := x.responseGuard(status)
	if p == nil || !gjson.ValidBytes(body) {
		return body, nil
	}
	if !x.scoreAnswer(ctx, p, answerText(nil, gjson.ParseBytes(body), "message")) {
		return body, nil
	}
	h := []Header{{HeaderResponseJailbreak, strconv.FormatFloat(x.guard.score, 'f', 4, 64)}}
	if !x.guard.flagged {
		return body, h
	}
	h = append(h, Header{HeaderResponseJailbreakFlagged, "true"})
	x.g.log.Info("response flagged by response_jailbreak", "decision", x.routed.cfgDecision.Name,
		"score", x.guard.score, "action", p.Action)
	if !p.Block() {
		return body, h
	}
	x.guard.blocked = true
	return refusalBody(body, x.start.Unix(), x.req.Model, RefusalMessage), h
}

// GuardHeaders are the response_jailbreak headers of the last scan (nil:
// none, or the stage degraded).
func (x *Exchange) GuardHeaders() []Header {
	g := &x.guard
	if !g.scanned || g.degraded {
		return nil
	}
	h := []Header{{HeaderResponseJailbreak, strconv.FormatFloat(g.score, 'f', 4, 64)}}
	if g.flagged {
		h = append(h, Header{HeaderResponseJailbreakFlagged, "true"})
	}
	return h
}

// answerText appends the assistant text of a completion (field
// "message") or a chunk (field "delta"): every choice's content and
// refusal and its tool calls' arguments.
func answerText(dst []byte, v gjson.Result, field string) []byte {
	v.Get("choices").ForEach(func(_, ch gjson.Result) bool {
		m := ch.Get(field)
		for _, k := range [...]string{"content", "refusal"} {
			if s := m.Get(k); s.Type == gjson.String && s.Str != "" {
				dst = append(dst, s.Str...)
			}
		}
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			if a := tc.Get("function.arguments"); a.Type == gjson.String {
				dst = append(dst, a.Str...)
			}
			return true
		})
		return true
	})
	return dst
}

// refusalBody is the chat.completion that replaces a blocked answer: the
// original id, model, created and usage (the tokens were spent), one
// choice with the refusal message msg and finish_reason content_filter.
func refusalBody(orig []byte, created int64, model, msg string) []byte {
	v := gjson.ParseBytes(orig)
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = chatreq.AppendJSONString(b, strOr(v.Get("id").Str, "chatcmpl-vsr-filtered"))
	b = append(b, `,"object":"chat.completion","created":`...)
	if c := v.Get("created"); c.Type == gjson.Number {
		created = c.Int()
	}
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = chatreq.AppendJSONString(b, strOr(v.Get("model").Str, model))
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = chatreq.AppendJSONString(b, msg)
	b = append(b, `},"finish_reason":"`+FinishContentFilter+`"}]`...)
	if u := v.Get("usage"); u.IsObject() {
		b = append(b, `,"usage":`...)
		b = append(b, u.Raw...)
	}
	return append(b, '}')
}

func strOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ScreensResponse reports whether a response plugin (response_jailbreak,
// hallucination) applies to an upstream answer with this status.
func (x *Exchange) ScreensResponse(status int) bool {
	return x.responseGuard(status) != nil || x.hallucinationPlugin(status) != nil
}

// ScreenSkipped records that the answer could not be scanned (the
// plugins' stages degrade; the answer passes).
func (x *Exchange) ScreenSkipped(err error) {
	if x.routed.cfgDecision != nil && x.routed.cfgDecision.Plugins.ResponseJailbreak != nil {
		x.guardDegraded(err)
	}
	x.hallucinationSkipped(err)
}
