package sse

import (
	"encoding/json"
	"fmt"
)

// Replay renders a chat.completion JSON body as a chat.completion.chunk SSE
// stream: a role+content chunk (with tool calls), a finish chunk, a usage
// chunk when includeUsage is set (the client asked for it with
// stream_options.include_usage) and the completion has usage, and
// "data: [DONE]".
func Replay(completionJSON []byte, includeUsage bool) ([]byte, error) {
	var c struct {
		ID      string `json:"id"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index        int     `json:"index"`
			Message      message `json:"message"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *Usage `json:"usage"`
	}
	if err := json.Unmarshal(completionJSON, &c); err != nil {
		return nil, fmt.Errorf("decode completion for replay: %w", err)
	}
	var out []byte
	frame := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode replay chunk: %w", err)
		}
		out = append(append(append(out, "data: "...), b...), "\n\n"...)
		return nil
	}
	type chunk struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   *Usage   `json:"usage,omitempty"`
	}
	head := func(choices []choice) chunk {
		return chunk{ID: c.ID, Object: "chat.completion.chunk", Created: c.Created, Model: c.Model, Choices: choices}
	}
	for _, ch := range c.Choices {
		delta := ch.Message
		if delta.Role == "" {
			delta.Role = "assistant"
		}
		for i := range delta.ToolCalls {
			idx := i
			delta.ToolCalls[i].Index = &idx
		}
		if err := frame(head([]choice{{Index: ch.Index, Delta: &delta}})); err != nil {
			return nil, err
		}
		var fr any
		if ch.FinishReason != nil {
			fr = *ch.FinishReason
		} else {
			fr = "stop"
		}
		if err := frame(head([]choice{{Index: ch.Index, Delta: &message{}, FinishReason: fr}})); err != nil {
			return nil, err
		}
	}
	if includeUsage && c.Usage != nil {
		u := head([]choice{})
		u.Usage = c.Usage
		if err := frame(u); err != nil {
			return nil, err
		}
	}
	return append(out, "data: [DONE]\n\n"...), nil
}
