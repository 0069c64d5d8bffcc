package apimode_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen/imagegentest"
)

// imageGenConfig: decision "art" draws with the openai backend when its
// keywords match; decision "omni" is an image decision on vllm_omni (no
// modality_detection: the classifier's modality signal, or the decision
// itself, says it is an image request).
const imageGenConfig = apimode.KeywordDocHead + `    - name: art
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: image_gen
          configuration:
            enabled: true
            backend: openai
            backend_config: {base_url: "IMAGES/v1", api_key: image-key, model: gpt-image-1, quality: high}
            modality_detection: {method: keyword, keywords: [draw, generate an image]}
            default_width: 1024
            default_height: 1024
            timeout_seconds: 30
    - name: omni
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: image_gen
          configuration:
            enabled: true
            backend: vllm_omni
            backend_config: {base_url: "IMAGES", model: Qwen/Qwen-Image, num_inference_steps: 50, cfg_scale: 4.5, seed: 42}
            default_width: 768
            default_height: 768
            max_inference_steps: 28
`

// modalityClassifier is a FAKE classifier (the classifier service lives
// in another module): the user turn's first word names the decision, and
// a second word AR, DIFFUSION or BOTH is the modality signal's match.
type modalityClassifier struct{}

func (modalityClassifier) Classify(_ context.Context, r *gateway.RouteRequest) (*gateway.Decision, error) {
	words := strings.Fields(r.Request.LastUserText())
	d := &gateway.Decision{Name: words[0], Confidence: 1}
	if len(words) > 1 {
		switch words[1] {
		case "AR", "DIFFUSION", "BOTH":
			d.Matched = map[string][]string{"modality": {words[1]}}
		}
	}
	return d, nil
}

type imageGenEnv struct {
	llm    *recordingLLM
	images *imagegentest.Backend
	client openai.Client
	reg    *prometheus.Registry
}

func newImageGenEnv(t *testing.T) *imageGenEnv {
	t.Helper()
	e := &imageGenEnv{llm: newRecordingLLM(t), images: imagegentest.New(t), reg: prometheus.NewRegistry()}
	doc := strings.NewReplacer("BACKEND", e.llm.srv.Listener.Addr().String(), "IMAGES", e.images.URL).Replace(imageGenConfig)
	// The one expected problem: the step cap warning of decision omni.
	unwanted := func(p config.Problem) bool {
		return apimode.PluginProblem(p) && !strings.Contains(p.Message, "above max_inference_steps 28")
	}
	spec := apimode.SpecFromYAML(t, doc, "image_gen e2e", unwanted, nil)
	spec.StageTimeout = 30 * time.Second
	m, err := metrics.NewGateway(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.client = apimode.StartE2E(t, spec, gateway.Stages{Classifier: modalityClassifier{}},
		apimode.E2EOptions{GatewayOptions: []gateway.Option{gateway.WithMetrics(m)}}).Client
	return e
}

// count reads semrouter_gateway_image_generations_total{labels}.
func (e *imageGenEnv) count(t *testing.T, decision, backend, outcome string) float64 {
	t.Helper()
	fams, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != metrics.GatewayImageGenerations {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["decision_name"] == decision && l["backend"] == backend && l["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func (e *imageGenEnv) ask(t *testing.T, text string) (*openai.ChatCompletion, *http.Response, error) {
	t.Helper()
	var resp *http.Response
	c, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, option.WithResponseInto(&resp))
	return c, resp, err
}

// decodeMarkdownPNG checks that content is one markdown image with a PNG
// data: URL and returns the PNG.
func decodeMarkdownPNG(t *testing.T, content, alt string) []byte {
	t.Helper()
	prefix := "![" + alt + "](data:image/png;base64,"
	if !strings.HasPrefix(content, prefix) || !strings.HasSuffix(content, ")") {
		t.Fatalf("content %.80q… is not a markdown PNG image with alt %q", content, alt)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(content, prefix), ")"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return raw
}

// TestImageGenThroughAPIMode sends chat requests with the OpenAI SDK
// through API mode (config → routes → gateway) to decisions with an
// image_gen plugin: image requests are answered from the FAKE image
// backend, others go to the FAKE LLM.
func TestImageGenThroughAPIMode(t *testing.T) {
	e := newImageGenEnv(t)

	t.Run("keyword image request gets a chat.completion with the image", func(t *testing.T) {
		e.images.WithUsage("")
		c, resp, err := e.ask(t, "art please generate an image of a red fox in snow, landscape")
		if err != nil {
			t.Fatal(err)
		}
		for h, want := range map[string]string{"x-vsr-response-path": "image_gen", "x-vsr-image-gen": "generated",
			"x-vsr-image-size": "1024x768", "x-vsr-selected-decision": "art", "x-vsr-selected-model": "m1"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s %q, want %q", h, got, want)
			}
		}
		msg := c.Choices[0].Message
		if c.Object != "chat.completion" || c.Model != "m1" || msg.Role != "assistant" || c.Choices[0].FinishReason != "stop" {
			t.Errorf("completion %s %s %s %s", c.Object, c.Model, msg.Role, c.Choices[0].FinishReason)
		}
		got := decodeMarkdownPNG(t, msg.Content, "art please generate an image of a red fox in snow, landscape")
		if !bytes.Equal(got, e.images.Image) {
			t.Error("the image is not the backend's PNG")
		}
		var raw struct {
			Choices []struct {
				Message struct {
					Images []struct {
						Type     string            `json:"type"`
						ImageURL map[string]string `json:"image_url"`
					} `json:"images"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(c.RawJSON()), &raw); err != nil || len(raw.Choices[0].Message.Images) != 1 ||
			!strings.HasPrefix(raw.Choices[0].Message.Images[0].ImageURL["url"], "data:image/png;base64,") {
			t.Errorf("structured images part: %v %+v", err, raw)
		}
		if c.Usage.PromptTokens != 12 || c.Usage.CompletionTokens != 4160 || c.Usage.TotalTokens != 4172 {
			t.Errorf("usage %+v", c.Usage)
		}
		call := e.images.Last(t)
		if call.Path != "/v1/images/generations" || call.Authorization != "Bearer image-key" ||
			call.Body["model"] != "gpt-image-1" || call.Body["size"] != "1024x768" || call.Body["quality"] != "high" ||
			call.Body["prompt"] != "art please generate an image of a red fox in snow, landscape" {
			t.Errorf("image request %s %q %v", call.Path, call.Authorization, call.Body)
		}
		if n := e.llm.count(); n != 0 {
			t.Errorf("the chat model got %d requests", n)
		}
		if n := e.count(t, "art", "openai", metrics.ImageGenSuccess); n != 1 {
			t.Errorf("success count %v", n)
		}
	})

	t.Run("streamed image request", func(t *testing.T) {
		stream := e.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("omni DIFFUSION a lighthouse at dusk 512x512")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		var acc openai.ChatCompletionAccumulator
		chunks := 0
		for stream.Next() {
			acc.AddChunk(stream.Current())
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if chunks != 3 || len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("%d chunks, %+v", chunks, acc.Choices)
		}
		decodeMarkdownPNG(t, acc.Choices[0].Message.Content, "omni DIFFUSION a lighthouse at dusk 512x512")
		call := e.images.Last(t)
		want := map[string]any{"prompt": "omni DIFFUSION a lighthouse at dusk 512x512", "model": "Qwen/Qwen-Image", "n": 1.0,
			"size": "512x512", "response_format": "b64_json", "num_inference_steps": 28.0, "true_cfg_scale": 4.5, "seed": 42.0}
		for k, v := range want {
			if call.Body[k] != v {
				t.Errorf("vllm_omni body[%s] = %v, want %v", k, call.Body[k], v)
			}
		}
		if len(call.Body) != len(want) || call.Authorization != "" {
			t.Errorf("vllm_omni body %v auth %q", call.Body, call.Authorization)
		}
	})

	t.Run("responses API gets the markdown image as output text", func(t *testing.T) {
		r, err := e.client.Responses.New(context.Background(), responses.ResponseNewParams{Model: "auto",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("art draw a small boat")}})
		if err != nil {
			t.Fatal(err)
		}
		decodeMarkdownPNG(t, r.OutputText(), "art draw a small boat")
		if e.images.Last(t).Body["prompt"] != "art draw a small boat" {
			t.Errorf("prompt %v", e.images.Last(t).Body["prompt"])
		}
	})

	t.Run("non-image request on the image decision goes to the chat model", func(t *testing.T) {
		before := len(e.images.Calls())
		for _, tc := range []struct{ text, header string }{
			{"art what is the capital of France?", "skipped:no_keyword"},
			{"omni AR tell me a story about a lighthouse", "skipped:modality_text"},
		} {
			c, resp, err := e.ask(t, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if c.Choices[0].Message.Content != "ok" || resp.Header.Get("x-vsr-response-path") != "upstream" ||
				resp.Header.Get("x-vsr-image-gen") != tc.header {
				t.Errorf("%q: content %q path %q image-gen %q", tc.text, c.Choices[0].Message.Content,
					resp.Header.Get("x-vsr-response-path"), resp.Header.Get("x-vsr-image-gen"))
			}
		}
		if after := len(e.images.Calls()); after != before {
			t.Errorf("the image backend got %d requests", after-before)
		}
		if n := e.count(t, "art", "openai", metrics.ImageGenNotImage); n != 1 {
			t.Errorf("not_image count %v", n)
		}
	})

	t.Run("backend errors reach the client as OpenAI errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, code, msg, outcome string
			status, want                   int
		}{
			{"down", `{"detail":"Diffusion engine not initialized"}`, "image_generation_failed",
				"image generation backend vllm_omni (IMAGES/v1/images/generations) answered 503: Diffusion engine not initialized",
				metrics.ImageGenFailed, 503, 502},
			{"refused", `{"error":{"message":"prompt rejected by the safety system"}}`, "image_generation_rejected",
				"refused the prompt (400): prompt rejected by the safety system", metrics.ImageGenRejected, 400, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.images.Fail(tc.status, tc.body)
				defer e.images.Fail(0, "")
				_, resp, err := e.ask(t, "omni a castle")
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v", err)
				}
				msg := strings.ReplaceAll(tc.msg, "IMAGES", e.images.URL)
				if apiErr.StatusCode != tc.want || apiErr.Code != tc.code || !strings.Contains(apiErr.Message, msg) {
					t.Errorf("got %d %s %q, want %d %s %q", apiErr.StatusCode, apiErr.Code, apiErr.Message, tc.want, tc.code, msg)
				}
				if resp != nil && resp.Header.Get("x-vsr-degraded") != "image_gen" {
					t.Errorf("x-vsr-degraded %q", resp.Header.Get("x-vsr-degraded"))
				}
				if apiErr.Response != nil && apiErr.Response.Header.Get("x-vsr-degraded") != "image_gen" {
					t.Errorf("x-vsr-degraded %q", apiErr.Response.Header.Get("x-vsr-degraded"))
				}
				if n := e.count(t, "omni", "vllm_omni", tc.outcome); n != 1 {
					t.Errorf("%s count %v", tc.outcome, n)
				}
			})
		}
		if n := e.llm.count(); n != 2 {
			t.Errorf("the chat model got %d requests, want the 2 non-image ones", n)
		}
	})
}

func (f *recordingLLM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

// TestImageGenRateLimited: the rate limits apply to image generations
// before the FAKE image backend is asked.
func TestImageGenRateLimited(t *testing.T) {
	images := imagegentest.New(t)
	llm := newRecordingLLM(t)
	doc := strings.NewReplacer("BACKEND", llm.srv.Listener.Addr().String(), "IMAGES", images.URL).Replace(apimode.KeywordDocHead + `    - name: omni
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: image_gen
          configuration: {enabled: true, backend: vllm_omni, backend_config: {base_url: "IMAGES"}}
global:
  services:
    ratelimit:
      providers:
        - type: local-limiter
          rules:
            - {name: one-image, match: {model: m1}, requests_per_unit: 1, unit: hour}
`)
	spec := apimode.SpecFromYAML(t, doc, "image_gen ratelimit", apimode.PluginProblem, nil)
	client := apimode.StartE2E(t, spec, gateway.Stages{Classifier: modalityClassifier{}}, apimode.E2EOptions{}).Client
	params := openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("omni a kite")}}
	var first *http.Response
	if _, err := client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&first)); err != nil {
		t.Fatal(err)
	}
	// An allowed generation carries the budgets as any allowed request.
	if l, r := first.Header.Get(gateway.HeaderRateLimitLimitRequests), first.Header.Get(gateway.HeaderRateLimitRemainingReq); l != "1" || r != "0" {
		t.Errorf("image answer: x-ratelimit-limit-requests %q remaining %q, want 1 and 0", l, r)
	}
	_, err := client.Chat.Completions.New(context.Background(), params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != gateway.CodeRateLimitExceeded {
		t.Fatalf("second image request: %v", err)
	}
	if n := len(images.Calls()); n != 1 {
		t.Errorf("the image backend got %d requests, want 1", n)
	}
}
