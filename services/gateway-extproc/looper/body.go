package looper

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Edit is how a sub-call's body differs from the routed request. Every
// sub-call is non-streaming (stream and stream_options are removed).
type Edit struct {
	// Logprobs asks for token logprobs; TopLogprobs > 0 also for that
	// many alternatives per token.
	Logprobs    bool
	TopLogprobs int
	// Temperature replaces temperature when set.
	Temperature *float64
	// MaxCompletionTokens > 0 replaces max_completion_tokens (and drops
	// max_tokens).
	MaxCompletionTokens int
	// System, when set, is inserted as the first message (role system).
	System string
	// AppendUser, when set, is appended as the last message (role user).
	AppendUser string
}

// Apply renders body (an OpenAI chat completions request) changed by e.
func Apply(body []byte, e Edit) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode request for a looper call: %w", err)
	}
	delete(m, "stream")
	delete(m, "stream_options")
	if e.Logprobs {
		m["logprobs"] = json.RawMessage("true")
		if e.TopLogprobs > 0 {
			m["top_logprobs"] = json.RawMessage(strconv.Itoa(e.TopLogprobs))
		}
	}
	if e.Temperature != nil {
		m["temperature"] = json.RawMessage(strconv.FormatFloat(*e.Temperature, 'g', -1, 64))
	}
	if e.MaxCompletionTokens > 0 {
		delete(m, "max_tokens")
		m["max_completion_tokens"] = json.RawMessage(strconv.Itoa(e.MaxCompletionTokens))
	}
	if e.System != "" || e.AppendUser != "" {
		var msgs []json.RawMessage
		if raw, ok := m["messages"]; ok {
			if err := json.Unmarshal(raw, &msgs); err != nil {
				return nil, fmt.Errorf("decode messages for a looper call: %w", err)
			}
		}
		if e.System != "" {
			msgs = append([]json.RawMessage{message("system", e.System)}, msgs...)
		}
		if e.AppendUser != "" {
			msgs = append(msgs, message("user", e.AppendUser))
		}
		raw, err := json.Marshal(msgs)
		if err != nil {
			return nil, fmt.Errorf("encode messages for a looper call: %w", err)
		}
		m["messages"] = raw
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode request for a looper call: %w", err)
	}
	return out, nil
}

func message(role, content string) json.RawMessage {
	b, _ := json.Marshal(struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}{role, content})
	return b
}
