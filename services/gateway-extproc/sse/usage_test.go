package sse

import (
	"testing"

	"github.com/tidwall/gjson"
)

func TestParseUsage(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want Usage
	}{
		{"plain", `{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}`, Usage{PromptTokens: 5, CompletionTokens: 3, TotalTokens: 8}},
		{"openai cached and reasoning details",
			`{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":800,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":50}}`,
			Usage{PromptTokens: 1000, CompletionTokens: 200, TotalTokens: 1200, CachedTokens: 800, ReasoningTokens: 50}},
		{"anthropic cache writes", `{"prompt_tokens":910,"completion_tokens":3,"total_tokens":913,"prompt_tokens_details":{"cached_tokens":300},"cache_creation_input_tokens":600}`,
			Usage{PromptTokens: 910, CompletionTokens: 3, TotalTokens: 913, CachedTokens: 300, CacheWriteTokens: 600}},
		{"null details", `{"prompt_tokens":1,"prompt_tokens_details":null}`, Usage{PromptTokens: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseUsage(gjson.Parse(tc.in)); got != tc.want {
				t.Fatalf("ParseUsage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestStreamUsageDetails: the reassembler keeps the usage chunk's
// details, and so does the rebuilt completion (a cache entry) and its
// replay.
func TestStreamUsageDetails(t *testing.T) {
	r := New(0)
	r.Write([]byte("data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n" +
		"data: {\"id\":\"a\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":6}}}\n\ndata: [DONE]\n\n"))
	if !r.HasUsage || r.Usage.CachedTokens != 6 || r.Usage.PromptTokens != 10 {
		t.Fatalf("usage %+v (has %v)", r.Usage, r.HasUsage)
	}
	b, err := r.Completion()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":6}}`
	if got := gjson.GetBytes(b, "usage").Raw; got != want {
		t.Fatalf("completion usage %s, want %s", got, want)
	}
	replay, err := Replay(b, true)
	if err != nil {
		t.Fatal(err)
	}
	r2 := New(0)
	r2.Write(replay)
	if r2.Usage != r.Usage {
		t.Fatalf("replayed usage %+v, want %+v", r2.Usage, r.Usage)
	}
}
