package gateway

import (
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// Redacted replaces a credential in a replay record.
const Redacted = "[REDACTED]"

// captureReplay adds the bodies and the tool trace the plugin asks for.
func (x *Exchange) captureReplay(rec *ReplayRecord, p *routes.RouterReplayPlugin) {
	// The record keeps the request the client sent, as the cache keys do:
	// context_compression may have replaced x.req.
	sent := x.req
	if x.clientReq != nil {
		sent = x.clientReq
	}
	var resp []byte
	if p.CaptureResponseBody || sent.HasTools {
		resp = x.replayResponseBody()
	}
	if p.CaptureRequestBody {
		rec.RequestBody, rec.RequestBodyTruncated = clip(RedactJSON(sent.Raw()), p.MaxBodyBytes)
	}
	if p.CaptureResponseBody && len(resp) > 0 {
		rec.ResponseBody, rec.ResponseBodyTruncated = clip(RedactJSON(resp), p.MaxBodyBytes)
	}
	rec.ToolTrace, rec.ToolTraceTruncated = toolTrace(sent.Raw(), resp, p)
	rec.bytes = 512 + len(rec.RequestBody) + len(rec.ResponseBody)
	for _, s := range rec.ToolTrace {
		rec.bytes += len(s.Arguments) + len(s.Output) + len(s.Name) + len(s.ID)
	}
}

// replayResponseBody is the answer the client got from upstream: the
// buffered JSON body, or the reassembled completion of a stream (nil:
// none, or too large to keep).
func (x *Exchange) replayResponseBody() []byte {
	s := &x.resp
	if !s.started || x.routed.path != "upstream" {
		return nil
	}
	if s.reasm != nil {
		b, err := s.reasm.Completion()
		if err != nil {
			return nil
		}
		return b
	}
	if s.overflow {
		return nil
	}
	return s.buf
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) (string, bool) {
	if n <= 0 || len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// credentialKey reports whether a JSON member name holds a credential.
func credentialKey(k string) bool {
	if len(k) > 64 {
		return false
	}
	var buf [64]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-' || c == '_':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	k = string(buf[:n])
	switch k {
	case "apikey", "authorization", "auth", "password", "passwd", "secret", "clientsecret", "token",
		"accesstoken", "refreshtoken", "idtoken", "bearer", "xapikey", "proxyauthorization", "cookie", "setcookie",
		"privatekey", "sessiontoken", "credentials", "credential":
		return true
	}
	return strings.HasSuffix(k, "apikey") || strings.HasSuffix(k, "secret") || strings.HasSuffix(k, "password") ||
		strings.HasSuffix(k, "token") && !strings.HasSuffix(k, "maxtoken") && !strings.HasSuffix(k, "maxtokens")
}

// RedactJSON returns body with the values of credential members
// (api_key, authorization, password, *_token, *secret, …) replaced by
// Redacted, and bearer tokens and API-key-like strings (sk-…, key-…)
// inside any string masked. A body that is not JSON is redacted as text.
func RedactJSON(body []byte) string {
	if !gjson.ValidBytes(body) {
		return RedactText(string(body))
	}
	var b strings.Builder
	b.Grow(len(body))
	redactValue(&b, gjson.ParseBytes(body), false)
	return b.String()
}

func redactValue(b *strings.Builder, v gjson.Result, secret bool) {
	switch {
	case secret && v.Type != gjson.Null:
		b.WriteString(`"` + Redacted + `"`)
	case v.IsObject():
		b.WriteByte('{')
		first := true
		v.ForEach(func(k, val gjson.Result) bool {
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(k.Raw)
			b.WriteByte(':')
			redactValue(b, val, credentialKey(k.Str))
			return true
		})
		b.WriteByte('}')
	case v.IsArray():
		b.WriteByte('[')
		first := true
		v.ForEach(func(_, val gjson.Result) bool {
			if !first {
				b.WriteByte(',')
			}
			first = false
			redactValue(b, val, false)
			return true
		})
		b.WriteByte(']')
	case v.Type == gjson.String:
		if r := RedactText(v.Str); r != v.Str {
			b.Write(chatreq.AppendJSONString(nil, r))
		} else {
			b.WriteString(v.Raw)
		}
	default:
		b.WriteString(v.Raw)
	}
}

// RedactText masks bearer tokens and API-key-like words (sk-…, sk_…,
// key-…, AKIA… with at least 16 token characters) in s.
func RedactText(s string) string {
	if !strings.Contains(s, "sk-") && !strings.Contains(s, "sk_") && !strings.Contains(s, "key-") &&
		!strings.Contains(s, "AKIA") && !strings.Contains(strings.ToLower(s), "bearer ") {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		j, n := secretAt(s, i)
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(s[i:j])
		b.WriteString(Redacted)
		i = j + n
	}
	return b.String()
}

// secretAt recognises a secret starting at i: it returns where the
// masked part starts and its length (0: none).
func secretAt(s string, i int) (int, int) {
	if i > 0 && tokenChar(s[i-1]) {
		return 0, 0
	}
	rest := s[i:]
	if len(rest) > 7 && strings.EqualFold(rest[:7], "bearer ") {
		if n := tokenRun(rest[7:]); n >= 8 {
			return i + 7, n
		}
		return 0, 0
	}
	for _, p := range [...]string{"sk-", "sk_", "key-", "AKIA"} {
		if strings.HasPrefix(rest, p) {
			if n := tokenRun(rest); n >= 16+len(p) || p == "AKIA" && n >= 16 {
				return i, n
			}
		}
	}
	return 0, 0
}

func tokenRun(s string) int {
	n := 0
	for n < len(s) && (tokenChar(s[n]) || s[n] == '.') {
		n++
	}
	return n
}

func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// toolTrace lists the tool steps of the request's messages (assistant
// tool calls, tool results) and of the answer (tool calls), the last
// max_tool_trace_steps of them, each field cut to max_tool_trace_bytes
// and redacted.
func toolTrace(req, resp []byte, p *routes.RouterReplayPlugin) ([]ToolStep, bool) {
	var steps []ToolStep
	add := func(s ToolStep) {
		s.Arguments, s.Output = RedactText(s.Arguments), RedactText(s.Output)
		var t1, t2 bool
		s.Arguments, t1 = clip(s.Arguments, p.MaxToolTraceBytes)
		s.Output, t2 = clip(s.Output, p.MaxToolTraceBytes)
		s.Truncated = t1 || t2
		steps = append(steps, s)
	}
	calls := func(m gjson.Result) {
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			add(ToolStep{Kind: "call", ID: tc.Get("id").Str, Name: tc.Get("function.name").Str, Arguments: tc.Get("function.arguments").Str})
			return true
		})
	}
	gjson.GetBytes(req, "messages").ForEach(func(_, m gjson.Result) bool {
		switch m.Get("role").Str {
		case "assistant":
			calls(m)
		case "tool", "function":
			out := m.Get("content")
			text := out.Str
			if out.Type != gjson.String {
				text = out.Raw
			}
			add(ToolStep{Kind: "result", ID: m.Get("tool_call_id").Str, Name: m.Get("name").Str, Output: text})
		}
		return true
	})
	if len(resp) > 0 {
		gjson.GetBytes(resp, "choices").ForEach(func(_, ch gjson.Result) bool {
			calls(ch.Get("message"))
			return true
		})
	}
	truncated := false
	for _, s := range steps {
		truncated = truncated || s.Truncated
	}
	if n := p.MaxToolTraceSteps; n > 0 && len(steps) > n {
		steps, truncated = steps[len(steps)-n:], true
	}
	return steps, truncated
}
