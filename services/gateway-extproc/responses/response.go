package responses

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Response is the Response object (object "response").
type Response struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CreatedAt          int64             `json:"created_at"`
	Status             string            `json:"status"`
	Background         bool              `json:"background"`
	Error              *ErrorObject      `json:"error"`
	IncompleteDetails  *Incomplete       `json:"incomplete_details"`
	Instructions       *string           `json:"instructions"`
	MaxOutputTokens    *int64            `json:"max_output_tokens"`
	Metadata           map[string]string `json:"metadata"`
	Model              string            `json:"model"`
	Output             []Item            `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Reasoning          Reasoning         `json:"reasoning"`
	Store              bool              `json:"store"`
	Temperature        *float64          `json:"temperature"`
	Text               TextConfig        `json:"text"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Tools              []Tool            `json:"tools"`
	TopP               *float64          `json:"top_p"`
	Truncation         string            `json:"truncation"`
	Usage              *Usage            `json:"usage"`
	User               *string           `json:"user,omitempty"`
}

// Reasoning is the response's reasoning block.
type Reasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

// ErrorObject is a failed response's error.
type ErrorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Incomplete says why a response is incomplete.
type Incomplete struct {
	Reason string `json:"reason"`
}

// Usage is the token usage of a response.
type Usage struct {
	InputTokens         int64        `json:"input_tokens"`
	InputTokensDetails  InputDetails `json:"input_tokens_details"`
	OutputTokens        int64        `json:"output_tokens"`
	OutputTokensDetails OutDetails   `json:"output_tokens_details"`
	TotalTokens         int64        `json:"total_tokens"`
}

// InputDetails breaks input tokens down.
type InputDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
}

// OutDetails breaks output tokens down.
type OutDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// Response statuses.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

// NewResponse starts the Response of r (status in_progress, no output):
// the request's settings are echoed.
func NewResponse(r *Request, id string, createdAt int64) *Response {
	resp := &Response{ID: id, Object: "response", CreatedAt: createdAt, Status: StatusInProgress,
		Instructions: r.Instructions, MaxOutputTokens: r.MaxOutputTokens, Metadata: r.Metadata, Model: r.Model,
		Output: []Item{}, ParallelToolCalls: r.ParallelToolCalls == nil || *r.ParallelToolCalls,
		Store: r.Store, Temperature: r.Temperature, ToolChoice: r.ToolChoice, Tools: r.Tools, TopP: r.TopP,
		Truncation: "disabled", Text: TextConfig{Format: &TextFormat{Type: "text"}}}
	if resp.Metadata == nil {
		resp.Metadata = map[string]string{}
	}
	if resp.Tools == nil {
		resp.Tools = []Tool{}
	}
	if len(resp.ToolChoice) == 0 {
		resp.ToolChoice = json.RawMessage(`"auto"`)
	}
	if r.PreviousResponseID != "" {
		p := r.PreviousResponseID
		resp.PreviousResponseID = &p
	}
	if r.Text != nil && r.Text.Format != nil {
		resp.Text = *r.Text
	}
	if r.ReasoningEffort != "" {
		e := r.ReasoningEffort
		resp.Reasoning.Effort = &e
	}
	if r.User != "" {
		u := r.User
		resp.User = &u
	}
	return resp
}

// CompleteFromChat fills resp from a chat completion body: the output
// items (the assistant text as a message, tool calls as function_call
// items), usage, model and status (finish_reason length or
// content_filter: incomplete).
func (resp *Response) CompleteFromChat(body []byte, newID IDFunc) error {
	if !gjson.ValidBytes(body) {
		return errInvalidCompletion
	}
	c := gjson.ParseBytes(body)
	ch := c.Get("choices.0")
	if !ch.Exists() {
		return errInvalidCompletion
	}
	if m := c.Get("model").Str; m != "" {
		resp.Model = m
	}
	msg := ch.Get("message")
	if r := reasoningText(msg); r != "" {
		resp.Output = append(resp.Output, reasoningItem(newID("rs"), r, StatusCompleted))
	}
	text := msg.Get("content").Str
	if text == "" {
		text = msg.Get("refusal").Str
	}
	if text != "" {
		resp.Output = append(resp.Output, messageItem(newID("msg"), text, StatusCompleted))
	}
	for _, tc := range msg.Get("tool_calls").Array() {
		args := tc.Get("function.arguments").Str
		callID := tc.Get("id").Str
		if callID == "" {
			callID = newID("call")
		}
		resp.Output = append(resp.Output, Item{Type: TypeFunctionCall, ID: newID("fc"), Status: StatusCompleted,
			CallID: callID, Name: tc.Get("function.name").Str, Arguments: &args})
	}
	resp.Usage = usageOf(c.Get("usage"))
	resp.finish(ch.Get("finish_reason").Str)
	return nil
}

// finish sets the terminal status for a chat finish_reason.
func (resp *Response) finish(reason string) {
	resp.Status = StatusCompleted
	switch reason {
	case "length":
		resp.Status, resp.IncompleteDetails = StatusIncomplete, &Incomplete{Reason: "max_output_tokens"}
	case "content_filter":
		resp.Status, resp.IncompleteDetails = StatusIncomplete, &Incomplete{Reason: "content_filter"}
	}
}

var errInvalidCompletion = chatreq.Upstream("the model server answered with an invalid chat completion")

func messageItem(id, text, status string) Item {
	return Item{Type: TypeMessage, ID: id, Status: status, Role: "assistant",
		Content: []Part{textPart(PartOutputText, text)}}
}

// reasoningText is the reasoning a chat message or delta carries
// (reasoning_content, as vLLM names it, or reasoning).
func reasoningText(m gjson.Result) string {
	if r := m.Get("reasoning_content").Str; r != "" {
		return r
	}
	return m.Get("reasoning").Str
}

// reasoningItem is a reasoning output item holding text (its summary is
// empty: the model's reasoning is passed on as is).
func reasoningItem(id, text, status string) Item {
	it := Item{Type: TypeReasoning, ID: id, Status: status, Summary: json.RawMessage("[]")}
	if text != "" {
		it.Content = []Part{{Type: PartReasoningText, Text: &text}}
	}
	return it
}

func usageOf(u gjson.Result) *Usage {
	if !u.Exists() || u.Type == gjson.Null {
		return nil
	}
	return &Usage{InputTokens: u.Get("prompt_tokens").Int(), OutputTokens: u.Get("completion_tokens").Int(),
		TotalTokens:         u.Get("total_tokens").Int(),
		InputTokensDetails:  InputDetails{CachedTokens: u.Get("prompt_tokens_details.cached_tokens").Int()},
		OutputTokensDetails: OutDetails{ReasoningTokens: u.Get("completion_tokens_details.reasoning_tokens").Int()}}
}

// UpstreamError turns a failed chat answer (status, body) into the error
// the Responses client gets: the OpenAI error envelope of the chat path is
// kept (message, type, param, code); a body without one is named by its
// status.
func UpstreamError(status int, body []byte) *chatreq.APIError {
	e := &chatreq.APIError{Status: status, Type: chatreq.TypeServer}
	if status < 500 {
		e.Type = chatreq.TypeInvalidRequest
	}
	if gjson.ValidBytes(body) {
		if ee := gjson.GetBytes(body, "error"); ee.IsObject() {
			e.Message = ee.Get("message").Str
			if t := ee.Get("type").Str; t != "" {
				e.Type = t
			}
			e.Param = ee.Get("param").Str
			e.Code = ee.Get("code").String()
		}
	}
	if e.Message == "" {
		e.Message = "the model server answered " + strconv.Itoa(status) + " " + http.StatusText(status)
	}
	return e
}
