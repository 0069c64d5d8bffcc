package responses

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"
)

// Streamer translates a chat completion SSE stream into the Responses
// event stream. Start opens it (response.created, response.in_progress),
// Write translates chat bytes as they arrive (events may span writes),
// Close ends it (the done events of the open items, then
// response.completed, response.incomplete or response.failed). Every
// event carries the next sequence_number.
type Streamer struct {
	resp    *Response
	newID   IDFunc
	seq     int64
	pending []byte
	out     []byte
	// open is the output item being streamed (-1: none).
	open  int
	texts []string // text so far per output index (messages)
	// tools maps a chat tool_call index to its output index.
	tools  map[int64]int
	reason string
	usage  *Usage
	failed *ErrorObject
	ended  bool
}

// NewStreamer streams resp (as NewResponse made it).
func NewStreamer(resp *Response, newID IDFunc) *Streamer {
	return &Streamer{resp: resp, newID: newID, open: -1, tools: map[int64]int{}}
}

// Response is the response streamed so far (complete after Close).
func (s *Streamer) Response() *Response { return s.resp }

// Start returns response.created and response.in_progress.
func (s *Streamer) Start() []byte {
	s.out = s.out[:0]
	s.event("response.created", struct {
		Response *Response `json:"response"`
	}{s.resp})
	s.event("response.in_progress", struct {
		Response *Response `json:"response"`
	}{s.resp})
	return s.take()
}

// Write translates chat SSE bytes; it returns the Responses events they
// complete (nil when none).
func (s *Streamer) Write(p []byte) []byte {
	s.out = s.out[:0]
	s.pending = append(s.pending, p...)
	for {
		i, n := boundary(s.pending)
		if i < 0 {
			break
		}
		s.chatEvent(s.pending[:i])
		s.pending = s.pending[i+n:]
	}
	return s.take()
}

// Close ends the stream: cut reports that the chat stream ended early
// (the response fails unless a finish_reason arrived).
func (s *Streamer) Close(cut bool) []byte {
	s.out = s.out[:0]
	if len(bytes.TrimSpace(s.pending)) > 0 {
		s.chatEvent(s.pending)
		s.pending = nil
	}
	if s.ended {
		return nil
	}
	s.ended = true
	if s.failed == nil && (s.reason == "" && cut) {
		s.failed = &ErrorObject{Code: "server_error", Message: "the model stream ended unexpectedly"}
	}
	s.closeOpen()
	s.resp.Usage = s.usage
	wrap := struct {
		Response *Response `json:"response"`
	}{s.resp}
	switch {
	case s.failed != nil:
		s.resp.Status, s.resp.Error = StatusFailed, s.failed
		s.event("response.failed", wrap)
	default:
		s.resp.finish(s.reason)
		if s.resp.Status == StatusIncomplete {
			s.event("response.incomplete", wrap)
		} else {
			s.event("response.completed", wrap)
		}
	}
	return s.take()
}

func (s *Streamer) take() []byte {
	if len(s.out) == 0 {
		return nil
	}
	return append([]byte(nil), s.out...)
}

// boundary finds the end of the first SSE event in b: its index and the
// separator length, or -1.
func boundary(b []byte) (int, int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' && b[i] != '\r' {
			continue
		}
		switch {
		case bytes.HasPrefix(b[i:], []byte("\r\n\r\n")):
			return i, 4
		case bytes.HasPrefix(b[i:], []byte("\n\n")), bytes.HasPrefix(b[i:], []byte("\r\r")):
			return i, 2
		}
	}
	return -1, 0
}

// chatEvent handles one chat SSE event (its data lines joined).
func (s *Streamer) chatEvent(ev []byte) {
	var data []byte
	comment := false
	for _, line := range bytes.Split(ev, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(d, []byte(" "))...)
		} else if len(line) > 0 && line[0] == ':' {
			comment = true
		}
	}
	if len(data) == 0 && comment {
		// A comment event (the router's ": x-vsr-cost …", hallucination
		// and response_jailbreak verdicts) passes as it is, in its place:
		// before the terminal event, as it came before [DONE].
		s.out = append(append(s.out, bytes.TrimRight(ev, "\r\n")...), "\n\n"...)
		return
	}
	if len(data) == 0 || string(data) == "[DONE]" || !gjson.ValidBytes(data) {
		return
	}
	c := gjson.ParseBytes(data)
	if e := c.Get("error"); e.IsObject() {
		code := e.Get("code").String()
		if code == "" {
			code = "server_error"
		}
		s.failed = &ErrorObject{Code: code, Message: e.Get("message").Str}
		s.event("error", struct {
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Param   *string `json:"param"`
		}{code, e.Get("message").Str, nil})
		return
	}
	if m := c.Get("model").Str; m != "" {
		s.resp.Model = m
	}
	if u := usageOf(c.Get("usage")); u != nil {
		s.usage = u
	}
	ch := firstChoice(c.Get("choices"))
	if !ch.Exists() {
		return
	}
	d := ch.Get("delta")
	if r := reasoningText(d); r != "" {
		s.reasoning(r)
	}
	text := d.Get("content").Str
	if text == "" {
		text = d.Get("refusal").Str
	}
	if text != "" {
		s.text(text)
	}
	for _, tc := range d.Get("tool_calls").Array() {
		s.toolDelta(tc)
	}
	if r := ch.Get("finish_reason").Str; r != "" {
		s.reason = r
	}
}

// firstChoice is the chunk's choice of index 0 (a missing index counts
// as 0). A Response has one answer, choice 0 as CompleteFromChat reads
// it: the other choices of a multi-choice stream (n > 1, a ratings
// answer's other models) are not mixed into it.
func firstChoice(choices gjson.Result) gjson.Result {
	var out gjson.Result
	choices.ForEach(func(_, ch gjson.Result) bool {
		if i := ch.Get("index"); !i.Exists() || i.Int() == 0 {
			out = ch
			return false
		}
		return true
	})
	return out
}

// text streams a content delta into the open message (opening one).
func (s *Streamer) text(delta string) {
	if s.open < 0 || s.resp.Output[s.open].Type != TypeMessage {
		s.closeOpen()
		it := Item{Type: TypeMessage, ID: s.newID("msg"), Status: StatusInProgress, Role: "assistant", Content: []Part{}}
		s.addItem(it)
		empty := ""
		s.event("response.content_part.added", partEvent{ItemID: it.ID, OutputIndex: s.open, ContentIndex: 0,
			Part: Part{Type: PartOutputText, Text: &empty, Annotations: json.RawMessage("[]")}})
	}
	s.texts[s.open] += delta
	s.event("response.output_text.delta", textDelta{ItemID: s.resp.Output[s.open].ID, OutputIndex: s.open,
		Delta: delta, Logprobs: []any{}})
}

// reasoning streams a reasoning delta into the open reasoning item
// (opening one).
func (s *Streamer) reasoning(delta string) {
	if s.open < 0 || s.resp.Output[s.open].Type != TypeReasoning {
		s.closeOpen()
		s.addItem(reasoningItem(s.newID("rs"), "", StatusInProgress))
	}
	s.texts[s.open] += delta
	s.event("response.reasoning_text.delta", reasoningDelta{ItemID: s.resp.Output[s.open].ID, OutputIndex: s.open, Delta: delta})
}

// toolDelta streams one chat tool_call delta into its function_call item.
func (s *Streamer) toolDelta(tc gjson.Result) {
	idx := tc.Get("index").Int()
	oi, ok := s.tools[idx]
	if !ok {
		s.closeOpen()
		callID := tc.Get("id").Str
		if callID == "" {
			callID = s.newID("call")
		}
		empty := ""
		s.addItem(Item{Type: TypeFunctionCall, ID: s.newID("fc"), Status: StatusInProgress, CallID: callID,
			Name: tc.Get("function.name").Str, Arguments: &empty})
		oi = s.open
		s.tools[idx] = oi
	}
	it := &s.resp.Output[oi]
	if n := tc.Get("function.name").Str; n != "" && it.Name == "" {
		it.Name = n
	}
	if a := tc.Get("function.arguments").Str; a != "" {
		args := *it.Arguments + a
		it.Arguments = &args
		s.event("response.function_call_arguments.delta", argsDelta{ItemID: it.ID, OutputIndex: oi, Delta: a})
	}
}

func (s *Streamer) addItem(it Item) {
	s.resp.Output = append(s.resp.Output, it)
	s.texts = append(s.texts, "")
	s.open = len(s.resp.Output) - 1
	s.event("response.output_item.added", itemEvent{OutputIndex: s.open, Item: &s.resp.Output[s.open]})
}

// closeOpen sends the done events of the open item.
func (s *Streamer) closeOpen() {
	if s.open < 0 {
		return
	}
	oi := s.open
	s.open = -1
	it := &s.resp.Output[oi]
	status := StatusCompleted
	if s.failed != nil {
		status = StatusIncomplete
	}
	switch it.Type {
	case TypeMessage:
		text := s.texts[oi]
		s.event("response.output_text.done", textDone{ItemID: it.ID, OutputIndex: oi, Text: text, Logprobs: []any{}})
		part := textPart(PartOutputText, text)
		s.event("response.content_part.done", partEvent{ItemID: it.ID, OutputIndex: oi, Part: part})
		it.Content = []Part{part}
	case TypeReasoning:
		text := s.texts[oi]
		s.event("response.reasoning_text.done", reasoningDone{ItemID: it.ID, OutputIndex: oi, Text: text})
		it.Content = []Part{{Type: PartReasoningText, Text: &text}}
	case TypeFunctionCall:
		s.event("response.function_call_arguments.done", argsDone{ItemID: it.ID, OutputIndex: oi,
			Name: it.Name, Arguments: *it.Arguments})
	}
	it.Status = status
	s.event("response.output_item.done", itemEvent{OutputIndex: oi, Item: it})
}

type itemEvent struct {
	OutputIndex int   `json:"output_index"`
	Item        *Item `json:"item"`
}

type partEvent struct {
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Part         Part   `json:"part"`
}

type textDelta struct {
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
	Logprobs     []any  `json:"logprobs"`
}

type textDone struct {
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
	Logprobs     []any  `json:"logprobs"`
}

type reasoningDelta struct {
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

type reasoningDone struct {
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
}

type argsDelta struct {
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Delta       string `json:"delta"`
}

type argsDone struct {
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

// event appends one Responses SSE event: its fields are v's, after type
// and before sequence_number.
func (s *Streamer) event(typ string, v any) {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return
	}
	s.out = append(s.out, "event: "...)
	s.out = append(s.out, typ...)
	s.out = append(s.out, "\ndata: {\"type\":"...)
	s.out = strconv.AppendQuote(s.out, typ)
	if len(b) > 2 {
		s.out = append(s.out, ',')
		s.out = append(s.out, b[1:len(b)-1]...)
	}
	s.out = append(s.out, ",\"sequence_number\":"...)
	s.out = strconv.AppendInt(s.out, s.seq, 10)
	s.out = append(s.out, "}\n\n"...)
	s.seq++
}
