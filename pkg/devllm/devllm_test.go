package devllm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/devllm"
)

func client(t *testing.T, srv *devllm.Server) openai.Client {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return openai.NewClient(option.WithBaseURL(hs.URL+"/v1"), option.WithAPIKey("dev"), option.WithMaxRetries(0))
}

func params(model, prompt string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}
}

func TestChatCompletionWithTheOpenAISDK(t *testing.T) {
	srv := devllm.New(devllm.Options{Models: []string{"small"}, Name: "b1"})
	c := client(t, srv)
	res, err := c.Chat.Completions.New(context.Background(), params("small", "hello there"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "[b1/small] You said: hello there" {
		t.Fatalf("content = %q", got)
	}
	if res.Usage.PromptTokens != 2 || res.Usage.CompletionTokens != 5 {
		t.Fatalf("usage = %+v", res.Usage)
	}
	got := srv.Received()
	if len(got) != 1 || got[0].Body["model"] != "small" {
		t.Fatalf("received = %+v", got)
	}
}

func TestStreamingReassemblesAndReportsUsage(t *testing.T) {
	srv := devllm.New(devllm.Options{})
	c := client(t, srv)
	p := params("any", "stream me")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := c.Chat.Completions.NewStreaming(context.Background(), p)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "[devllm/any] You said: stream me" {
		t.Fatalf("content = %q", got)
	}
	if acc.Usage.CompletionTokens != 5 {
		t.Fatalf("usage = %+v", acc.Usage)
	}
}

func TestFailuresAndBadInput(t *testing.T) {
	srv := devllm.New(devllm.Options{Models: []string{"small"}, FailStatus: http.StatusTooManyRequests})
	c := client(t, srv)
	var apiErr *openai.Error

	srv.FailNext(1)
	_, err := c.Chat.Completions.New(context.Background(), params("small", "x"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("injected failure: %v", err)
	}
	if _, err := c.Chat.Completions.New(context.Background(), params("small", "x")); err != nil {
		t.Fatalf("after the injected failure: %v", err)
	}
	_, err = c.Chat.Completions.New(context.Background(), params("other", "x"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown model: %v", err)
	}

	hs := httptest.NewServer(srv)
	defer hs.Close()
	resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed body: status %d", resp.StatusCode)
	}
}

func TestFailureRateIsReproducible(t *testing.T) {
	count := func() int {
		srv := devllm.New(devllm.Options{FailureRate: 0.5, Seed: 42})
		hs := httptest.NewServer(srv)
		defer hs.Close()
		failed := 0
		for i := 0; i < 40; i++ {
			resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusInternalServerError {
				failed++
			}
		}
		return failed
	}
	a, b := count(), count()
	if a != b || a == 0 || a == 40 {
		t.Fatalf("failures %d and %d: want the same, strictly between 0 and 40", a, b)
	}
}

func TestListModels(t *testing.T) {
	c := client(t, devllm.New(devllm.Options{Models: []string{"a", "b"}}))
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != "a" {
		t.Fatalf("models = %+v", page.Data)
	}
}
