package gateway

import (
	"bytes"
	"context"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// screenWindow is how much new answer text a blocking stream screen holds
// back before it scans the answer so far.
const screenWindow = 512

// StreamScreen applies the response_jailbreak plugin to a 2xx SSE answer
// whose headers are already on their way, event by event:
//
//   - action header: events pass at once; the [DONE] event is held, and at
//     the end of the stream the whole answer is scanned and a comment
//     event ": x-vsr-response-jailbreak score=0.1234 flagged=false" is sent
//     before [DONE] (SSE clients ignore comments);
//   - action block: events are held until screenWindow bytes of new text
//     (or the stream's end) and released only after the answer so far
//     scanned clean; a flagged answer ends with a chunk whose
//     finish_reason is content_filter and [DONE], and the rest of the
//     upstream stream is dropped (Stopped).
//
// A stage that is down or late degrades: what is held is released and
// the rest passes unscanned. Feed it the upstream bytes before
// ForwardChunk, so the exchange observes what the client gets.
type StreamScreen struct {
	x *Exchange
	p *routes.ResponseJailbreakPlugin // nil: only the hallucination plugin applies
	// h is the hallucination plugin (nil: off); content is the answer's
	// text content, checked at the end (hallucination.go).
	h       *routes.HallucinationPlugin
	content []byte
	pending []byte // bytes of an unfinished event
	held    []byte // complete events not released yet (block)
	done    []byte // the [DONE] event, sent last
	text    []byte // answer text so far
	scanned int    // len(text) at the last scan
	id      string
	model   string
	created int64
	// stopped: flagged and cut (the rest is dropped); open: the stage
	// degraded (the rest passes).
	stopped, open bool
	out           []byte
}

// NewStreamScreen returns the screen for this exchange's streamed answer
// (nil: the plugin does not apply). Call it after ResponseHeaders.
func (x *Exchange) NewStreamScreen() *StreamScreen {
	if !x.resp.sseBody {
		return nil
	}
	p, h := x.responseGuard(x.resp.status), x.hallucinationPlugin(x.resp.status)
	if p == nil && h == nil {
		return nil
	}
	return &StreamScreen{x: x, p: p, h: h}
}

// Stopped reports whether the screen cut the stream (the caller stops
// reading the upstream body).
func (s *StreamScreen) Stopped() bool { return s.stopped }

// Write takes upstream bytes and returns what may go to the client now
// (valid until the next call).
func (s *StreamScreen) Write(ctx context.Context, p []byte) []byte {
	s.out = s.out[:0]
	if s.stopped {
		return s.out
	}
	s.pending = append(s.pending, p...)
	off := 0
	for !s.stopped {
		n := eventEnd(s.pending[off:])
		if n == 0 {
			break
		}
		s.event(ctx, s.pending[off:off+n])
		off += n
	}
	// event copied what it keeps: compact in place
	s.pending = s.pending[:copy(s.pending, s.pending[off:])]
	return s.out
}

// Close ends the upstream stream and returns the last bytes for the
// client: what is held (after a final scan), the verdict comment and
// [DONE] when the upstream sent it.
func (s *StreamScreen) Close(ctx context.Context) []byte {
	s.out = s.out[:0]
	if s.stopped {
		return s.out
	}
	if len(bytes.TrimSpace(s.pending)) > 0 {
		s.event(ctx, s.pending)
	}
	s.pending = nil
	if s.stopped {
		return s.out
	}
	s.finish(ctx)
	return s.out
}

// event handles one complete event.
func (s *StreamScreen) event(ctx context.Context, ev []byte) {
	data := eventData(ev)
	if bytes.Equal(data, []byte("[DONE]")) {
		s.done = append(s.done[:0], ev...)
		return
	}
	if len(data) > 0 && data[0] == '{' {
		v := gjson.ParseBytes(data)
		if s.id == "" {
			s.id, s.model, s.created = v.Get("id").Str, v.Get("model").Str, v.Get("created").Int()
		}
		s.text = answerText(s.text, v, "delta")
		if s.h != nil {
			s.content = appendContent(s.content, v)
		}
	}
	if s.open || !s.p.Block() {
		s.out = append(s.out, ev...)
		return
	}
	s.held = append(s.held, ev...)
	if len(s.text)-s.scanned >= screenWindow {
		s.scan(ctx)
	}
}

// scan scores the answer so far (block): clean releases what is held,
// flagged cuts the stream.
func (s *StreamScreen) scan(ctx context.Context) {
	s.scanned = len(s.text)
	if !s.x.scoreAnswer(ctx, s.p, s.text) {
		s.open = true
		s.out = append(s.out, s.held...)
		s.held = s.held[:0]
		return
	}
	if !s.x.guard.flagged {
		s.out = append(s.out, s.held...)
		s.held = s.held[:0]
		return
	}
	s.x.guard.blocked, s.stopped = true, true
	s.x.g.log.Info("streamed response cut by response_jailbreak", "decision", s.x.routed.cfgDecision.Name,
		"score", s.x.guard.score)
	s.held = nil
	s.out = s.appendFilterChunk(s.out)
	s.out = append(s.out, "data: [DONE]\n\n"...)
}

// finish runs at the end of the stream.
func (s *StreamScreen) finish(ctx context.Context) {
	switch {
	case s.open, s.p == nil:
	case s.p.Block():
		if len(s.held) > 0 || len(s.text) > s.scanned || !s.x.guard.scanned {
			s.scan(ctx)
			if s.stopped {
				return
			}
		}
	default:
		if s.x.scoreAnswer(ctx, s.p, s.text) {
			s.out = s.appendVerdict(s.out)
		}
	}
	if s.h != nil {
		s.out = s.appendGroundingTail(ctx, s.out)
	}
	s.out = append(s.out, s.done...)
}

// appendVerdict appends the verdict comment event.
func (s *StreamScreen) appendVerdict(b []byte) []byte {
	g := &s.x.guard
	b = append(b, ": "+HeaderResponseJailbreak+" score="...)
	b = strconv.AppendFloat(b, g.score, 'f', 4, 64)
	b = append(b, " flagged="...)
	b = strconv.AppendBool(b, g.flagged)
	return append(b, "\n\n"...)
}

// appendFilterChunk appends the chunk that ends a cut stream.
func (s *StreamScreen) appendFilterChunk(b []byte) []byte {
	b = append(b, `data: {"id":`...)
	b = chatreq.AppendJSONString(b, strOr(s.id, "chatcmpl-vsr-filtered"))
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	created := s.created
	if created == 0 {
		created = s.x.start.Unix()
	}
	b = strconv.AppendInt(b, created, 10)
	b = append(b, `,"model":`...)
	b = chatreq.AppendJSONString(b, strOr(s.model, s.x.req.Model))
	return append(b, `,"choices":[{"index":0,"delta":{},"finish_reason":"`+FinishContentFilter+`"}]}`+"\n\n"...)
}

// eventEnd is the index just after the first event's blank line in b (0:
// no complete event).
func eventEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return j + 1
		}
	}
	return 0
}

// eventData returns the data of a single-data-line event (nil: none or
// several lines).
func eventData(ev []byte) []byte {
	var data []byte
	for len(ev) > 0 {
		line := ev
		if i := bytes.IndexByte(ev, '\n'); i >= 0 {
			line, ev = ev[:i], ev[i+1:]
		} else {
			ev = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data != nil {
				return nil
			}
			data = bytes.TrimPrefix(v, []byte{' '})
		}
	}
	return data
}
