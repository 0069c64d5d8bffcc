package sse

import (
	"bytes"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Filter aligns an SSE byte stream on event boundaries on its way to the
// client and, with DropUsage, removes the usage-only chunk
// ({"choices":[],"usage":{…}}) that the router asked the upstream for
// (stream_options.include_usage) when the client did not.
//
// A partial event is held back until its end arrives, so the client never
// holds half an event when the stream is cut (an error event can then
// follow cleanly). Chunks that end on an event boundary and carry nothing to
// drop pass through without a copy.
type Filter struct {
	// DropUsage removes usage-only chunks.
	DropUsage bool

	pending []byte // start of an event whose end has not arrived
	out     []byte // reused output buffer
}

// maxHold bounds what is held back waiting for an event's end: past it the
// bytes go on as they are (an upstream that never ends its events).
const maxHold = 1 << 20

// Next takes the next bytes of the stream and returns those to send on:
// every complete event (minus dropped ones). end flushes whatever is held.
// The returned slice is p itself, or a buffer reused by the next call.
func (f *Filter) Next(p []byte, end bool) []byte {
	buf, from, held := p, 0, len(f.pending) > 0
	if held {
		// A boundary may straddle the old and the new bytes.
		from = max(len(f.pending)-2, 0)
		f.pending = append(f.pending, p...)
		buf = f.pending
	}
	cut := len(buf)
	if !end {
		cut = lastBoundary(buf, from)
		if cut == 0 && len(buf) > maxHold {
			cut = len(buf)
		}
	}
	out := buf[:cut]
	if f.DropUsage && bytes.Contains(out, usageKey) {
		out = f.drop(out)
	}
	if held && len(out) > 0 && &out[0] == &buf[0] {
		// buf is the held buffer, which is reused below.
		f.out = append(f.out[:0], out...)
		out = f.out
	}
	if held {
		f.pending = append(f.pending[:0], f.pending[cut:]...)
	} else if cut < len(p) {
		f.pending = append(f.pending[:0], p[cut:]...)
	}
	return out
}

// Pending reports whether part of an event is held back.
func (f *Filter) Pending() bool { return len(f.pending) > 0 }

var usageKey = []byte(`"usage"`)

// drop returns b without its usage-only events: b itself when there is
// none, else f.out.
func (f *Filter) drop(b []byte) []byte {
	copying := false
	for off := 0; off < len(b); {
		n := firstBoundary(b[off:])
		if n == 0 {
			n = len(b) - off
		}
		ev := b[off : off+n]
		switch {
		case bytes.Contains(ev, usageKey) && usageOnly(ev):
			if !copying {
				f.out = append(f.out[:0], b[:off]...)
				copying = true
			}
			// Blank lines before the event stay (they may end the
			// previous one).
			lead := 0
			for lead < len(ev) && (ev[lead] == '\n' || ev[lead] == '\r') {
				lead++
			}
			f.out = append(f.out, ev[:lead]...)
		case copying:
			f.out = append(f.out, ev...)
		}
		off += n
	}
	if copying {
		return f.out
	}
	return b
}

// firstBoundary is the index just after the first event's blank line in b
// (0: none).
func firstBoundary(b []byte) int {
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

// lastBoundary is the index just after the last blank line (event end) in
// b, scanning from from (0: none).
func lastBoundary(b []byte, from int) int {
	for i := len(b) - 1; i > from; i-- {
		if b[i] != '\n' {
			continue
		}
		j := i - 1
		if b[j] == '\r' {
			j--
		}
		if j >= from && b[j] == '\n' {
			return i + 1
		}
	}
	return 0
}

// usageOnly reports whether the event's data is a chunk with no choices and
// a usage object.
func usageOnly(ev []byte) bool {
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
				return false // multi-line data: leave it alone
			}
			data = bytes.TrimPrefix(v, []byte{' '})
		}
	}
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	c := gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data)))
	if !c.Get("usage").IsObject() {
		return false
	}
	ch := c.Get("choices")
	if ch.Exists() && ch.Type != gjson.Null && (!ch.IsArray() || len(ch.Array()) > 0) {
		return false
	}
	return gjson.ValidBytes(data)
}
