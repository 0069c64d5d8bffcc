package gateway

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/grounding"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// hallucination plugin headers and names.
const (
	// HeaderHallucinationDetected is "true" when the answer makes claims
	// the request's context does not support, "false" when it was checked
	// and none were found.
	HeaderHallucinationDetected = "x-vsr-hallucination-detected"
	// HeaderHallucinationSpans is the number of flagged claims.
	HeaderHallucinationSpans = "x-vsr-hallucination-spans"
	// HeaderUnverifiedFactual is "true" when the request was fact-check
	// flagged but had no context to verify the answer against.
	HeaderUnverifiedFactual = "x-vsr-unverified-factual-response"
	// HeaderHallucinationDetails is compact JSON (include_hallucination_details):
	// {"verdict":…,"claims":N,"spans":[{"start":…,"end":…,"reason":…,
	// "missing":[…],"score":…}],"more":N}, ASCII only, at most
	// maxDetailsBytes.
	HeaderHallucinationDetails = "x-vsr-hallucination-details"
	// StageHallucination is the degraded stage name: the embedding check
	// (use_nli) could not run, or the answer could not be read.
	StageHallucination = "hallucination"
	// HallucinationRefusal is the content of an answer blocked for
	// unsupported claims (finish_reason content_filter).
	HallucinationRefusal = "The response was withheld by the router: it makes claims that the context provided with the request does not support."
	// UnverifiedRefusal is the content of an answer blocked because it
	// could not be verified.
	UnverifiedRefusal = "The response was withheld by the router: it makes factual claims that no source provided with the request could verify."
	// noteDetected and noteUnverified are the warnings the body action
	// adds to an answer.
	noteDetected   = "\n\n[semrouter: some statements in this answer are not supported by the context provided with the request; verify them before relying on them.]"
	noteUnverified = "\n\n[semrouter: this answer makes factual claims that could not be verified against any source provided with the request.]"
	// maxDetailsBytes caps the details header.
	maxDetailsBytes = 2048
)

var (
	errNoEmbedder       = errors.New("no embedder stage for the hallucination plugin's use_nli check")
	errAnswerUnreadable = errors.New("answer not readable for the hallucination check")
)

// hallucResult is what the hallucination plugin found for this exchange.
type hallucResult struct {
	ran bool
	// verdict is a metrics.Hallucination* value ("" when the answer was
	// not checked: no context and no fact-check flag).
	verdict string
	v       grounding.Verdict
	// action is the action applied (config.HallucinationAction*); blocked
	// and noted say what it did to the body.
	action          string
	blocked, noted  bool
	streamedBlocked bool // block asked for a streamed answer: headers only
}

// flagged reports whether the answer was flagged (it is then neither
// cached nor stored in memory).
func (h *hallucResult) flagged() bool {
	return h.verdict == metrics.HallucinationDetected || h.verdict == metrics.HallucinationUnverified
}

// answerFlagged reports whether a response plugin flagged the answer.
func (x *Exchange) answerFlagged() bool { return x.guard.flagged || x.halluc.flagged() }

// hallucinationPlugin returns the hallucination plugin that applies to
// the answer of this exchange (nil: none): an upstream 2xx answer of a
// decision that enables it.
func (x *Exchange) hallucinationPlugin(status int) *routes.HallucinationPlugin {
	if x.req == nil || x.routed.path != "upstream" || x.routed.cfgDecision == nil || status < 200 || status >= 300 {
		return nil
	}
	return x.routed.cfgDecision.Plugins.Hallucination
}

// groundingInput gathers what the answer should rest on: tool results
// and rag passages (sources), system, developer and user messages
// (supporting), and the fact_check flag.
func (x *Exchange) groundingInput(answer string) grounding.Input {
	in := grounding.Input{Answer: answer, FactCheck: factCheckFlagged(x.routed.decision)}
	req := x.req
	if x.clientReq != nil {
		req = x.clientReq
	}
	for _, m := range req.Messages {
		if strings.TrimSpace(m.Text) == "" {
			continue
		}
		switch m.Role {
		case "tool", "function":
			in.Sources = append(in.Sources, m.Text)
		case "system", "developer", "user":
			in.Supporting = append(in.Supporting, m.Text)
		}
	}
	for _, d := range x.routed.rag.docs {
		if strings.TrimSpace(d.Content) != "" {
			in.Sources = append(in.Sources, d.Content)
		}
	}
	return in
}

// factCheckFlagged reports whether the fact_check signal matched a rule
// that asks for checking: any matched rule name but the negative classes
// (no_fact_check_needed and names like it).
func factCheckFlagged(d *Decision) bool {
	if d == nil {
		return false
	}
	for _, n := range d.Matched["fact_check"] {
		l := strings.ToLower(n)
		if strings.HasPrefix(l, "no_") || strings.HasPrefix(l, "not_") || strings.Contains(l, "not_needed") ||
			l == "creative" {
			continue
		}
		return true
	}
	return false
}

// checkGrounding checks answer and records the verdict (metrics, log).
func (x *Exchange) checkGrounding(ctx context.Context, p *routes.HallucinationPlugin, answer string) {
	h := &x.halluc
	h.ran = true
	in := x.groundingInput(answer)
	var emb grounding.Embedder
	if p.UseNLI && len(in.Sources) > 0 {
		switch e := x.g.stages.Embedder; {
		case e == nil:
			x.degrade(StageHallucination, errNoEmbedder)
		case slices.Contains(x.routed.degraded, StageEmbedder):
			// it already failed this request: not waited for again
			x.degrade(StageHallucination, nil)
		default:
			emb = e
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, x.t.StageTimeout)
			defer cancel()
		}
	}
	h.v = p.Detector.Check(ctx, emb, in)
	if h.v.EmbedErr != nil {
		x.degrade(StageHallucination, h.v.EmbedErr)
	}
	switch {
	case h.v.HallucinationDetected:
		h.verdict, h.action = metrics.HallucinationDetected, p.Action
	case h.v.UnverifiedFactual:
		h.verdict, h.action = metrics.HallucinationUnverified, p.UnverifiedAction
	case h.v.Checked:
		h.verdict = metrics.HallucinationGrounded
	default:
		return
	}
	x.g.metrics.HallucinationVerdict(x.routed.cfgDecision.Name, h.verdict)
	if h.flagged() {
		x.g.log.Info("answer flagged by hallucination plugin", "decision", x.routed.cfgDecision.Name,
			"verdict", h.verdict, "spans", len(h.v.Spans), "action", h.action)
	}
}

// hallucinationSkipped records an answer that could not be checked.
func (x *Exchange) hallucinationSkipped(err error) {
	d := x.routed.cfgDecision
	if d == nil || d.Plugins.Hallucination == nil || x.halluc.ran {
		return
	}
	x.halluc.ran, x.halluc.verdict = true, metrics.HallucinationSkipped
	x.g.metrics.HallucinationVerdict(d.Name, metrics.HallucinationSkipped)
	x.degrade(StageHallucination, err)
}

// screenHallucination applies the hallucination plugin to a complete
// non-streaming answer: it returns the body to send (with a note, or a
// refusal) and the headers to add.
func (x *Exchange) screenHallucination(ctx context.Context, status int, body []byte) ([]byte, []Header) {
	p := x.hallucinationPlugin(status)
	if p == nil {
		return body, nil
	}
	if !gjson.ValidBytes(body) {
		x.hallucinationSkipped(errAnswerUnreadable)
		return body, nil
	}
	c := gjson.GetBytes(body, "choices.0.message.content")
	if c.Type != gjson.String || strings.TrimSpace(c.Str) == "" {
		return body, nil // no text answer (tool calls): nothing to check
	}
	x.checkGrounding(ctx, p, c.Str)
	h := &x.halluc
	hs := x.hallucinationHeaders(p)
	switch h.action {
	case config.HallucinationActionBody:
		note := noteDetected
		if h.verdict == metrics.HallucinationUnverified {
			note = noteUnverified
		}
		if out, err := sjson.SetBytes(body, "choices.0.message.content", c.Str+note); err == nil {
			h.noted = true
			return out, hs
		}
	case config.HallucinationActionBlock:
		msg := HallucinationRefusal
		if h.verdict == metrics.HallucinationUnverified {
			msg = UnverifiedRefusal
		}
		h.blocked = true
		return refusalBody(body, x.start.Unix(), x.req.Model, msg), hs
	}
	return body, hs
}

// hallucinationHeaders are the headers of the verdict (none when the
// answer was not checked or the action is none).
func (x *Exchange) hallucinationHeaders(p *routes.HallucinationPlugin) []Header {
	h := &x.halluc
	var out []Header
	switch h.verdict {
	case metrics.HallucinationGrounded:
		if p.Action != config.HallucinationActionNone {
			out = append(out, Header{HeaderHallucinationDetected, "false"})
		}
	case metrics.HallucinationDetected:
		if h.action != config.HallucinationActionNone {
			out = append(out, Header{HeaderHallucinationDetected, "true"},
				Header{HeaderHallucinationSpans, strconv.Itoa(len(h.v.Spans))})
		}
	case metrics.HallucinationUnverified:
		if h.action != config.HallucinationActionNone {
			out = append(out, Header{HeaderUnverifiedFactual, "true"})
		}
	}
	if p.Details && h.flagged() && len(out) > 0 {
		out = append(out, Header{HeaderHallucinationDetails, string(appendDetails(nil, h))})
	}
	return out
}

// appendDetails appends the details JSON: the spans that fit in
// maxDetailsBytes, and "more" for the others.
func appendDetails(b []byte, h *hallucResult) []byte {
	b = append(b, `{"verdict":"`...)
	b = append(b, h.verdict...)
	b = append(b, `","claims":`...)
	b = strconv.AppendInt(b, int64(h.v.Claims), 10)
	if h.v.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	b = append(b, `,"spans":[`...)
	kept := 0
	for _, s := range h.v.Spans {
		var e []byte
		if kept > 0 {
			e = append(e, ',')
		}
		e = append(e, `{"start":`...)
		e = strconv.AppendInt(e, int64(s.Start), 10)
		e = append(e, `,"end":`...)
		e = strconv.AppendInt(e, int64(s.End), 10)
		e = append(e, `,"reason":"`...)
		e = append(e, s.Reason...)
		e = append(e, `","missing":[`...)
		for i, m := range s.Missing {
			if i > 0 {
				e = append(e, ',')
			}
			e = appendASCIIJSON(e, truncateString(m, 80))
		}
		e = append(e, `],"score":`...)
		e = strconv.AppendFloat(e, s.Score, 'f', 3, 64)
		e = append(e, '}')
		if len(b)+len(e)+32 > maxDetailsBytes {
			break
		}
		b = append(b, e...)
		kept++
	}
	b = append(b, ']')
	if more := len(h.v.Spans) - kept; more > 0 {
		b = append(b, `,"more":`...)
		b = strconv.AppendInt(b, int64(more), 10)
	}
	return append(b, '}')
}

// appendASCIIJSON appends s as a JSON string escaped to ASCII (header
// values stay printable ASCII).
func appendASCIIJSON(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r >= 0x20 && r < 0x7f:
			b = append(b, byte(r))
		default:
			u := []rune{r}
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				u = []rune{r1, r2}
			}
			for _, c := range u {
				b = append(b, '\\', 'u', hex[c>>12&0xf], hex[c>>8&0xf], hex[c>>4&0xf], hex[c&0xf])
			}
		}
	}
	return append(b, '"')
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// appendContent appends the text content of choice 0 of a chunk.
func appendContent(dst []byte, v gjson.Result) []byte {
	if c := v.Get("choices.0.delta.content"); c.Type == gjson.String {
		dst = append(dst, c.Str...)
	}
	return dst
}

// appendGroundingTail checks a streamed answer at its end and appends
// what goes before [DONE]: a comment event with the verdict
// (": x-vsr-hallucination detected=true spans=2 unverified=false
// action=header"), and for the body action a last chunk whose content
// delta is the warning note. A streamed answer cannot be taken back:
// block falls back to the comment (action=block-fallback-header).
func (s *StreamScreen) appendGroundingTail(ctx context.Context, b []byte) []byte {
	x, p := s.x, s.h
	if strings.TrimSpace(string(s.content)) == "" {
		return b
	}
	x.checkGrounding(ctx, p, string(s.content))
	h := &x.halluc
	if h.verdict == "" || h.action == config.HallucinationActionNone ||
		h.verdict == metrics.HallucinationGrounded && p.Action == config.HallucinationActionNone {
		return b
	}
	action := h.action
	if action == config.HallucinationActionBlock {
		h.streamedBlocked = true
		action = "block-fallback-header"
	}
	b = append(b, ": x-vsr-hallucination detected="...)
	b = strconv.AppendBool(b, h.verdict == metrics.HallucinationDetected)
	b = append(b, " spans="...)
	b = strconv.AppendInt(b, int64(len(h.v.Spans)), 10)
	b = append(b, " unverified="...)
	b = strconv.AppendBool(b, h.verdict == metrics.HallucinationUnverified)
	if action != "" {
		b = append(b, " action="...)
		b = append(b, action...)
	}
	if p.Details && h.flagged() {
		b = append(b, " details="...)
		b = appendDetails(b, h)
	}
	b = append(b, "\n\n"...)
	if h.action != config.HallucinationActionBody {
		return b
	}
	note := noteDetected
	if h.verdict == metrics.HallucinationUnverified {
		note = noteUnverified
	}
	h.noted = true
	b = append(b, `data: {"id":`...)
	b = chatreq.AppendJSONString(b, strOr(s.id, "chatcmpl-vsr-note"))
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	created := s.created
	if created == 0 {
		created = x.start.Unix()
	}
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = chatreq.AppendJSONString(b, strOr(s.model, x.req.Model))
	b = append(b, `,"choices":[{"index":0,"delta":{"content":`...)
	b = chatreq.AppendJSONString(b, note)
	return append(b, `},"finish_reason":null}]}`+"\n\n"...)
}
