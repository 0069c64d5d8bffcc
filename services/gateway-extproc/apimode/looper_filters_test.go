package apimode_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// looperFiltersConfig: text (a text-only card), tiny (a 300-token
// window) and vision; judge writes fusion answers. Every decision
// records replays.
const looperFiltersConfig = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: vision}
  models:
    - {name: text, backend_refs: [{name: t, endpoint: "TEXT"}]}
    - {name: tiny, backend_refs: [{name: y, endpoint: "TINY"}]}
    - {name: vision, backend_refs: [{name: v, endpoint: "VISION"}]}
    - {name: judge, backend_refs: [{name: j, endpoint: "JUDGE"}]}
routing:
  modelCards:
    - {name: text, modality: ar, capabilities: [chat]}
    - {name: tiny, context_window_size: 300}
    - {name: vision, modality: ar, capabilities: [chat, vision]}
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
    - name: cascade
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: text}, {model: tiny}, {model: vision}]
      algorithm: {type: confidence, confidence: {threshold: 0.8, on_error: skip}}
      plugins:
        - {type: router_replay, configuration: {enabled: true}}
    - name: panel
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: vision}]
      algorithm:
        type: fusion
        fusion: {analysis_models: [text, vision], model: judge}
`

// TestLooperSkipsModelsThatCannotTakeTheRequest: the sub-calls of a
// multi-call algorithm obey the model-card filters the failover targets
// obey. An image request is not sent to the text-only model, a long one
// not to the model whose window is too small (the cascade then starts at
// the first model that fits), a fusion panel leaves such a model out, and
// the replay record names the algorithm and the models it called.
func TestLooperSkipsModelsThatCannotTakeTheRequest(t *testing.T) {
	text, tiny := newLogprobLLM(t, "text", "unsure"), newLogprobLLM(t, "tiny", "unsure")
	vision, judge := newLogprobLLM(t, "vision", "unsure"), newLogprobLLM(t, "judge", "sure")
	yaml := strings.NewReplacer("TEXT", text.srv.Listener.Addr().String(), "TINY", tiny.srv.Listener.Addr().String(),
		"VISION", vision.srv.Listener.Addr().String(), "JUDGE", judge.srv.Listener.Addr().String()).Replace(looperFiltersConfig)
	spec := apimode.SpecFromYAML(t, yaml, "looper filters", nil, nil)
	srv := apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}}, apimode.E2EOptions{})
	client := srv.Client
	image := func(prompt string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart(prompt),
				openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="})})}}
	}
	long := openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage("cascade x " + strings.Repeat("a long question ", 100))}}

	for _, tc := range []struct {
		name         string
		params       openai.ChatCompletionNewParams
		wantCalled   string
		wantModel    string
		wantRequests map[*logprobLLM]int
	}{
		{"image skips the text-only model", image("cascade x what is in this picture?"), "tiny,vision", "vision",
			map[*logprobLLM]int{text: 0, tiny: 1, vision: 1}},
		{"long request skips the small window", long, "text,vision", "vision",
			map[*logprobLLM]int{text: 1, tiny: 0, vision: 1}},
		{"fusion panel leaves the text-only model out", image("panel x what is in this picture?"), "text,vision,judge", "judge",
			map[*logprobLLM]int{text: 0, vision: 1, judge: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[*logprobLLM]int{}
			for f := range tc.wantRequests {
				before[f] = len(f.requests())
			}
			var resp *http.Response
			if _, err := client.Chat.Completions.New(context.Background(), tc.params, option.WithResponseInto(&resp)); err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get(apimode.HeaderLooperModels); got != tc.wantCalled || resp.Header.Get("x-vsr-selected-model") != tc.wantModel {
				t.Errorf("called %q, selected %q; want %q, %q", got, resp.Header.Get("x-vsr-selected-model"), tc.wantCalled, tc.wantModel)
			}
			for f, want := range tc.wantRequests {
				if got := len(f.requests()) - before[f]; got != want {
					t.Errorf("%s got %d requests, want %d", f.name, got, want)
				}
			}
		})
	}

	code, body := getReplay(t, srv.URL+apimode.PathRouterReplay+"?decision=cascade", "")
	var list replayList
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list.Data) != 2 {
		t.Fatalf("replay: %d %v %s", code, err, body)
	}
	for i, want := range [][]string{{"text", "vision"}, {"tiny", "vision"}} { // newest first
		if r := list.Data[i]; r.Algorithm != "confidence" || !slices.Equal(r.LooperModels, want) || r.SelectedModel != "vision" {
			t.Errorf("record %d: algorithm %q, looper models %v, selected %q", i, r.Algorithm, r.LooperModels, r.SelectedModel)
		}
	}
}
