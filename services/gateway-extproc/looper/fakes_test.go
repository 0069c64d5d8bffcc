package looper

// LLM FAKE: fakeCaller stands in for the upstream models (no LLM can run
// here); it answers chat completions with chosen token logprobs. The HTTP
// path through API mode is tested in apimode/looper_test.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// fakeModel is how one fake model answers.
type fakeModel struct {
	// logprobs of the answer tokens (nil: an answer without logprobs);
	// top2 is the second-best alternative's logprob of every token.
	logprobs []float64
	top2     float64
	status   int   // 0: 200
	err      error // transport failure
	text     string
	raw      string // when set, the whole 200 answer body
}

type call struct {
	model string
	edit  Edit
}

type fakeCaller struct {
	models map[string]fakeModel
	mu     sync.Mutex
	calls  []call
	// gate, when set, runs inside every call (concurrency tests).
	gate func()
}

func (f *fakeCaller) Call(ctx context.Context, model string, e Edit) (Reply, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{model, e})
	m, ok := f.models[model]
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	if !ok {
		return Reply{}, errors.New("unknown fake model " + model)
	}
	if m.err != nil {
		return Reply{}, m.err
	}
	if m.status != 0 && m.status != 200 {
		return Reply{Status: m.status, Body: []byte(`{"error":{"message":"` + model + ` down"}}`)}, nil
	}
	if m.raw != "" {
		return Reply{Status: 200, Body: []byte(m.raw)}, nil
	}
	return Reply{Status: 200, Body: completion(model, m)}, nil
}

func (f *fakeCaller) calledModels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.model)
	}
	return out
}

// completion renders a chat.completion of m.
func completion(model string, m fakeModel) []byte {
	text := m.text
	if text == "" {
		text = "answer from " + model
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"id":"c-%s","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"`, model, model, text)
	if m.logprobs != nil {
		b.WriteString(`,"logprobs":{"content":[`)
		for i, lp := range m.logprobs {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"token":"t%d","logprob":%g,"top_logprobs":[{"token":"t%d","logprob":%g},{"token":"u","logprob":%g}]}`, i, lp, i, lp, m.top2)
		}
		b.WriteString(`]}`)
	}
	fmt.Fprintf(&b, `}],"usage":{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}}`, len(m.logprobs), 5+len(m.logprobs))
	return []byte(b.String())
}

// countObs is a FAKE metrics observer.
type countObs struct {
	mu          sync.Mutex
	calls       map[string]int // model/outcome
	escalations int
}

func (o *countObs) LooperCall(_, model, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[model+"/"+outcome]++
}

func (o *countObs) LooperEscalation(string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.escalations++
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
