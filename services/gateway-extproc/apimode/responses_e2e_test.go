package apimode_test

// The Responses API end to end: the real OpenAI Go SDK Responses client
// against API mode, whose chat path routes to FAKE LLMs
// (responses_fakes_test.go) through a FAKE classifier.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// responsesConfig routes "math" turns to big and the rest to small; the
// global block (GLOBAL) is replaced by each test.
const responsesConfig = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: small}
  models:
    - name: small
      backend_refs: [{name: s, endpoint: "SMALL"}]
    - name: big
      backend_refs: [{name: b, endpoint: "BIG"}]
routing:
  signals:
    keywords: [{name: kw, keywords: [math]}]
  decisions:
    - name: math
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: big}]
    - name: general
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}]
GLOBAL`

// respEnv is API mode over responsesConfig with its two FAKE LLMs.
type respEnv struct {
	e          *apimode.E2E
	small, big *chatLLM
}

func startResponses(t *testing.T, global string) *respEnv {
	t.Helper()
	return startResponsesWith(t, global, apimode.E2EOptions{})
}

func startResponsesWith(t *testing.T, global string, o apimode.E2EOptions) *respEnv {
	t.Helper()
	env := &respEnv{small: newChatLLM(t, "small"), big: newChatLLM(t, "big")}
	doc := strings.NewReplacer("SMALL", env.small.endpoint(), "BIG", env.big.endpoint(), "GLOBAL", global).Replace(responsesConfig)
	spec := apimode.SpecFromYAML(t, doc, "responses.yaml", func(p config.Problem) bool {
		return strings.Contains(p.Path, "response_api")
	}, nil)
	env.e = apimode.StartE2E(t, spec, gateway.Stages{Classifier: wordClassifier{}}, o)
	return env
}

func messages(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	ms, _ := body["messages"].([]any)
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		out[i], _ = m.(map[string]any)
	}
	return out
}

func userInput(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

// A plain text request is routed (decision, model headers) and answered
// as a Response; instructions become the system message and
// max_output_tokens max_completion_tokens.
func TestResponsesPlainText(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	var hr *http.Response
	resp, err := env.e.Client.Responses.New(ctx, responses.ResponseNewParams{
		Model: "auto", Input: userInput("solve this math problem"), Instructions: openai.String("Be brief."),
		MaxOutputTokens: openai.Int(64), Temperature: openai.Float(0.2),
		Metadata: map[string]string{"ticket": "T-1"},
	}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "resp_") || resp.Object != "response" || resp.Status != responses.ResponseStatusCompleted {
		t.Fatalf("response %s %s %s", resp.ID, resp.Object, resp.Status)
	}
	if got := resp.OutputText(); got != "echo 2: solve this math problem" {
		t.Fatalf("output text %q", got)
	}
	if resp.Usage.InputTokens != 11 || resp.Usage.OutputTokens != 7 || resp.Usage.TotalTokens != 18 {
		t.Fatalf("usage %+v", resp.Usage)
	}
	if resp.Instructions.OfString != "Be brief." || resp.Metadata["ticket"] != "T-1" || resp.MaxOutputTokens != 64 || resp.CreatedAt == 0 {
		t.Fatalf("echoed settings: instructions %q metadata %v max %d created %v", resp.Instructions.OfString, resp.Metadata, resp.MaxOutputTokens, resp.CreatedAt)
	}
	if d, m := hr.Header.Get("x-vsr-selected-decision"), hr.Header.Get("x-vsr-selected-model"); d != "math" || m != "big" {
		t.Fatalf("routing headers: decision %q model %q", d, m)
	}
	if len(env.small.requests()) != 0 {
		t.Fatal("the general model got the math request")
	}
	body := env.big.last(t)
	ms := messages(t, body)
	if len(ms) != 2 || ms[0]["role"] != "system" || ms[0]["content"] != "Be brief." || ms[1]["role"] != "user" {
		t.Fatalf("chat messages %v", ms)
	}
	if body["max_completion_tokens"] != float64(64) || body["temperature"] != 0.2 || body["model"] != "big" {
		t.Fatalf("chat body %v", body)
	}
}

// previous_response_id continues the conversation: the stored input and
// output come before the new turn (instructions are not carried over);
// GET, input_items and DELETE serve the store.
func TestResponsesConversationAndStore(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	cl := env.e.Client
	first, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("hello"),
		Instructions: openai.String("Only the first turn has these.")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("and again"),
		PreviousResponseID: openai.String(first.ID)})
	if err != nil {
		t.Fatal(err)
	}
	ms := messages(t, env.small.last(t))
	roles := make([]string, len(ms))
	for i, m := range ms {
		roles[i] = m["role"].(string)
	}
	if strings.Join(roles, ",") != "user,assistant,user" || ms[1]["content"] != "echo 2: hello" || ms[2]["content"] != "and again" {
		t.Fatalf("continued conversation %v", ms)
	}
	if second.PreviousResponseID != first.ID || second.OutputText() != "echo 3: and again" {
		t.Fatalf("second: previous %q text %q", second.PreviousResponseID, second.OutputText())
	}

	got, err := cl.Responses.Get(ctx, second.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != second.ID || got.OutputText() != second.OutputText() || got.Usage.TotalTokens != 18 {
		t.Fatalf("GET %s: %q", got.ID, got.OutputText())
	}

	page, err := cl.Responses.InputItems.List(ctx, second.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, it := range page.Data {
		kinds = append(kinds, it.Type+":"+string(it.Role))
		if it.ID == "" {
			t.Fatalf("input item without id: %s", it.RawJSON())
		}
	}
	if strings.Join(kinds, ",") != "message:user,message:assistant,message:user" {
		t.Fatalf("input items %v", kinds)
	}
	desc, err := cl.Responses.InputItems.List(ctx, second.ID, responses.InputItemListParams{Limit: openai.Int(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Data) != 1 || desc.Data[0].ID != page.Data[2].ID || !desc.HasMore {
		t.Fatalf("newest first, limit 1: %s", desc.RawJSON())
	}
	after, err := cl.Responses.InputItems.List(ctx, second.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc,
		After: openai.String(page.Data[0].ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Data) != 2 || after.Data[0].ID != page.Data[1].ID {
		t.Fatalf("after %s: %s", page.Data[0].ID, after.RawJSON())
	}

	if err := cl.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error { _, err := cl.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); return err },
		func() error { return cl.Responses.Delete(ctx, first.ID) },
		func() error {
			_, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("x"), PreviousResponseID: openai.String(first.ID)})
			return err
		},
	} {
		var apiErr *openai.Error
		if err := call(); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "not_found" {
			t.Fatalf("deleted response: %v", err)
		}
	}
	// the second response holds its own copy of the conversation
	if _, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("third"),
		PreviousResponseID: openai.String(second.ID)}); err != nil {
		t.Fatal(err)
	}
	if n := len(messages(t, env.small.last(t))); n != 5 {
		t.Fatalf("third turn sent %d messages, want 5", n)
	}
}

// store: false answers without keeping the response.
func TestResponsesStoreFalse(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	resp, err := env.e.Client.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("hi"), Store: openai.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.RawJSON(), `"store":false`) || resp.OutputText() != "echo 1: hi" {
		t.Fatalf("response %s", resp.RawJSON())
	}
	var apiErr *openai.Error
	if _, err := env.e.Client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("GET of an unstored response: %v", err)
	}
}
