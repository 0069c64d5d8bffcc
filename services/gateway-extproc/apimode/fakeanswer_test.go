package apimode_test

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// fakeAnswer is what a FAKE LLM backend (no model can run here) answers:
// Content as one chat.completion, or streamed in Chunk-byte deltas.
type fakeAnswer struct {
	ID, Model, Content string
	Chunk              int // bytes per streamed delta
	Prompt, Completion int // usage
	StreamUsage        bool
}

// write sends the answer as JSON, or as SSE when stream is set.
func (a fakeAnswer) write(w http.ResponseWriter, stream bool) {
	usage := fmt.Sprintf(`{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}`, a.Prompt, a.Completion, a.Prompt+a.Completion)
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(a.Content)
		fmt.Fprintf(w, `{"id":%q,"object":"chat.completion","created":7,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":%s}`,
			a.ID, a.Model, b, usage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	chunk := func(rest string) {
		fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":%q,%s}\n\n", a.ID, a.Model, rest)
		fl.Flush()
	}
	for i := 0; i < len(a.Content); i += a.Chunk {
		b, _ := json.Marshal(a.Content[i:min(i+a.Chunk, len(a.Content))])
		chunk(fmt.Sprintf(`"choices":[{"index":0,"delta":{"content":%s},"finish_reason":null}]`, b))
	}
	chunk(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`)
	if a.StreamUsage {
		chunk(`"choices":[],"usage":` + usage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}
