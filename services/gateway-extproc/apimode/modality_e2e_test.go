package apimode

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// modalityYAML routes decision "look" to text (modality ar), then vl
// (ar with vision); the default model is %s.
const modalityYAML = `version: v0.3
listeners: [{name: api, port: 8899}]
providers:
  defaults: {default_model: %s}
  models:
    - name: text
      backend_refs: [{name: t, endpoint: "%s"}]
    - name: vl
      backend_refs: [{name: v, endpoint: "%s"}]
routing:
  modelCards:
    - {name: text, modality: ar, capabilities: [chat, code]}
    - {name: vl, modality: ar, capabilities: [vision]}
  decisions:
    - name: look
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: text}, {model: vl}]
`

// TestImageInputSkipsTextOnlyModels sends an image_url part through the
// OpenAI SDK: the text-only card's FAKE LLM backend is skipped for the
// vision model; a text request still goes to the first modelRef; with no
// vision model among the candidates the client gets a 400.
func TestImageInputSkipsTextOnlyModels(t *testing.T) {
	image := []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("what is in this picture?"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="}),
	})}
	tests := []struct {
		name     string
		defaultM string
		onlyText bool // drop vl from the modelRefs
		messages []openai.ChatCompletionMessageParamUnion
		wantFrom string // "": 400
	}{
		{name: "image goes to the vision model", defaultM: "text", messages: image, wantFrom: "vl"},
		{name: "text goes to the first modelRef", defaultM: "text", messages: userMsg("hello"), wantFrom: "text"},
		{name: "no candidate takes images", defaultM: "text", onlyText: true, messages: image},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakes := map[string]*fakeLLM{"text": newFakeLLM(t, "text", "ok"), "vl": newFakeLLM(t, "vl", "ok")}
			var edit func(*config.Config)
			if tc.onlyText {
				edit = func(cfg *config.Config) { cfg.Routing.Decisions[0].ModelRefs = cfg.Routing.Decisions[0].ModelRefs[:1] }
			}
			spec := SpecFromYAML(t, fmt.Sprintf(modalityYAML, tc.defaultM, fakes["text"].endpoint(), fakes["vl"].endpoint()), "modality.yaml", nil, edit)
			fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "look"}}})
			var resp *http.Response
			c, err := fx.client.Chat.Completions.New(context.Background(),
				openai.ChatCompletionNewParams{Model: "auto", Messages: tc.messages}, option.WithResponseInto(&resp))
			if tc.wantFrom == "" {
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != gateway.CodeImageInputUnsupported {
					t.Fatalf("err = %v, want a 400 %s", err, gateway.CodeImageInputUnsupported)
				}
				checkNoRequests(t, fakes, "a request it cannot serve")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkAnsweredBy(t, c, resp, tc.wantFrom)
			for n, f := range fakes {
				reqs := f.requests()
				if n != tc.wantFrom {
					if len(reqs) != 0 {
						t.Errorf("%s got %d requests", n, len(reqs))
					}
					continue
				}
				if len(reqs) != 1 {
					t.Fatalf("%s got %d requests", n, len(reqs))
				}
				msgs, _ := reqs[0].Body["messages"].([]any)
				if tc.messages[0].OfUser.Content.OfArrayOfContentParts != nil {
					parts, _ := msgs[0].(map[string]any)["content"].([]any)
					if len(parts) != 2 || parts[1].(map[string]any)["type"] != "image_url" {
						t.Errorf("image part not forwarded: %v", msgs[0])
					}
				}
			}
		})
	}
}
