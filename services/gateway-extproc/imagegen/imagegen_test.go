package imagegen_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen/imagegentest"
)

func compile(t *testing.T, c *config.ImageGenPlugin) *imagegen.Plugin {
	t.Helper()
	p, err := imagegen.Compile(c, imagegen.Options{Getenv: func(k string) string {
		if k == "OPENAI_API_KEY" {
			return "env-key"
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompile(t *testing.T) {
	t.Run("disabled is nil", func(t *testing.T) {
		p, err := imagegen.Compile(&config.ImageGenPlugin{Backend: "openai"}, imagegen.Options{})
		if p != nil || err != nil {
			t.Fatalf("got %v, %v", p, err)
		}
	})
	for _, tc := range []struct {
		name, backend, base, want string
	}{
		{"openai default", "openai", "", "https://api.openai.com/v1/images/generations"},
		{"base with v1", "vllm_omni", "http://omni:8005/v1/", "http://omni:8005/v1/images/generations"},
		{"base without v1", "vllm_omni", "http://omni:8005", "http://omni:8005/v1/images/generations"},
		{"base with prefix", "openai", "https://gw.example/openai", "https://gw.example/openai/v1/images/generations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc := map[string]any{}
			if tc.base != "" {
				bc["base_url"] = tc.base
			}
			p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: tc.backend, BackendConfig: bc})
			if p.Endpoint() != tc.want {
				t.Errorf("endpoint %q, want %q", p.Endpoint(), tc.want)
			}
			if p.Timeout() != imagegen.DefaultTimeout {
				t.Errorf("timeout %v", p.Timeout())
			}
		})
	}
	for _, tc := range []struct {
		name string
		c    config.ImageGenPlugin
		want string
	}{
		{"vllm_omni needs base_url", config.ImageGenPlugin{Enabled: true, Backend: "vllm_omni"}, "base_url: required"},
		{"bad url", config.ImageGenPlugin{Enabled: true, Backend: "openai", BackendConfig: map[string]any{"base_url": "ftp://x"}}, "not an http(s) URL"},
		{"bad type", config.ImageGenPlugin{Enabled: true, Backend: "vllm_omni", BackendConfig: map[string]any{"base_url": "http://x", "seed": "s"}}, "backend_config.seed: expected a number"},
		{"unknown backend", config.ImageGenPlugin{Enabled: true, Backend: "dalle"}, `unknown image_gen backend "dalle"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imagegen.Compile(&tc.c, imagegen.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	yes, no := true, false
	keywords := &config.ModalityDetection{Keywords: []string{"generate an image", "draw"}, PromptPrefixes: []string{"imagine:"}}
	for _, tc := range []struct {
		name     string
		md       *config.ModalityDetection
		text     string
		modality []string
		want     bool
		reason   string
	}{
		{"signal diffusion", nil, "a cat", []string{"DIFFUSION"}, true, imagegen.ReasonModalitySignal},
		{"signal both", keywords, "explain", []string{"BOTH"}, true, imagegen.ReasonModalitySignal},
		{"signal text wins over keywords", keywords, "draw the rest of the owl", []string{"AR"}, false, imagegen.ReasonModalityText},
		{"keyword", keywords, "Please DRAW a fox", nil, true, imagegen.ReasonKeyword},
		{"keyword whole word only", keywords, "the drawer is stuck", nil, false, imagegen.ReasonNoKeyword},
		{"prefix", keywords, `  "Imagine: a castle`, nil, true, imagegen.ReasonKeyword},
		{"detection disabled", &config.ModalityDetection{Enabled: &no, Keywords: []string{"draw"}}, "what is 2+2", nil, true, imagegen.ReasonDecision},
		{"detection enabled", &config.ModalityDetection{Enabled: &yes, Keywords: []string{"draw"}}, "what is 2+2", nil, false, imagegen.ReasonNoKeyword},
		{"image decision", nil, "a lighthouse at dusk", nil, true, imagegen.ReasonDecision},
		{"no prompt", nil, "   ", []string{"DIFFUSION"}, false, imagegen.ReasonNoPrompt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "openai", ModalityDetection: tc.md})
			got, reason := p.Decide(tc.text, tc.modality)
			if got != tc.want || reason != tc.reason {
				t.Errorf("Decide = %v %q, want %v %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}

func TestPrepare(t *testing.T) {
	p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "openai", DefaultWidth: 1024, DefaultHeight: 1024})
	for _, tc := range []struct {
		name, text, prompt string
		w, h               int
	}{
		{"plain subject", "a red fox in snow", "a red fox in snow", 1024, 1024},
		{"generate an image of", "Generate an image of a red fox in snow", "a red fox in snow", 1024, 1024},
		{"please draw me", "please draw me a sheep", "a sheep", 1024, 1024},
		{"create a picture showing", "Create a picture showing: two cats", "two cats", 1024, 1024},
		{"verb only stays", "draw", "draw", 1024, 1024},
		{"explicit size", "draw a bridge 1024x768", "a bridge 1024x768", 1024, 768},
		{"explicit size rounded", "a bridge, 1000 × 601", "a bridge, 1000 × 601", 1000, 600},
		{"explicit size out of range ignored", "a bridge 10x20000", "a bridge 10x20000", 1024, 1024},
		{"portrait", "a portrait photo of a dog", "a portrait photo of a dog", 768, 1024},
		{"landscape", "draw a landscape with hills", "a landscape with hills", 1024, 768},
		{"square", "make a square logo", "a square logo", 1024, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Prepare(tc.text)
			if r.Prompt != tc.prompt || r.Width != tc.w || r.Height != tc.h {
				t.Errorf("Prepare = %q %dx%d, want %q %dx%d", r.Prompt, r.Width, r.Height, tc.prompt, tc.w, tc.h)
			}
		})
	}
}

func TestGenerateRequestShape(t *testing.T) {
	fb := imagegentest.New(t)
	t.Run("openai", func(t *testing.T) {
		p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "openai", DefaultWidth: 512, DefaultHeight: 256,
			BackendConfig: map[string]any{"base_url": fb.URL + "/v1", "model": "dall-e-3", "quality": "hd", "style": "vivid"}})
		im, err := p.Generate(context.Background(), p.Prepare("draw a cat"))
		if err != nil {
			t.Fatal(err)
		}
		c := fb.Last(t)
		if c.Method != "POST" || c.Path != "/v1/images/generations" || c.Authorization != "Bearer env-key" {
			t.Errorf("request %s %s auth %q", c.Method, c.Path, c.Authorization)
		}
		want := map[string]any{"prompt": "a cat", "model": "dall-e-3", "n": 1.0, "size": "512x256", "quality": "hd",
			"style": "vivid", "response_format": "b64_json"}
		assertBody(t, c.Body, want)
		if im.MIME != "image/png" || !strings.HasPrefix(im.DataURL(), "data:image/png;base64,") {
			t.Errorf("image %s %q", im.MIME, im.DataURL()[:40])
		}
		raw, _ := base64.StdEncoding.DecodeString(im.B64)
		if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() != 16 {
			t.Errorf("png: %v", err)
		}
	})
	t.Run("gpt-image gets no response_format", func(t *testing.T) {
		p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "openai",
			BackendConfig: map[string]any{"base_url": fb.URL, "model": "gpt-image-1", "api_key": "cfg-key"}})
		if _, err := p.Generate(context.Background(), p.Prepare("a cat")); err != nil {
			t.Fatal(err)
		}
		c := fb.Last(t)
		if _, ok := c.Body["response_format"]; ok || c.Authorization != "Bearer cfg-key" {
			t.Errorf("body %v auth %q", c.Body, c.Authorization)
		}
	})
	t.Run("vllm_omni", func(t *testing.T) {
		p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "vllm_omni", MaxInferenceSteps: 20,
			BackendConfig: map[string]any{"base_url": fb.URL, "model": "Qwen/Qwen-Image", "num_inference_steps": 50,
				"cfg_scale": 4.5, "seed": 42, "negative_prompt": "blurry"}})
		if _, err := p.Generate(context.Background(), p.Prepare("a lighthouse, landscape")); err != nil {
			t.Fatal(err)
		}
		c := fb.Last(t)
		want := map[string]any{"prompt": "a lighthouse, landscape", "model": "Qwen/Qwen-Image", "n": 1.0, "size": "1024x768",
			"response_format": "b64_json", "num_inference_steps": 20.0, "true_cfg_scale": 4.5, "seed": 42.0, "negative_prompt": "blurry"}
		assertBody(t, c.Body, want)
		if c.Authorization != "" {
			t.Errorf("vllm_omni without api_key sent %q", c.Authorization)
		}
	})
}

func assertBody(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%q] = %v (%T), want %v", k, got[k], got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected body field %q = %v", k, got[k])
		}
	}
}

func TestGenerateFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		code    string
		http    int
		outcome string
		msg     string
	}{
		{"policy refusal", 400, `{"error":{"message":"Your request was rejected by the safety system."}}`, imagegen.CodeRejected, 400, metrics.ImageGenRejected, "refused the prompt (400): Your request was rejected by the safety system."},
		{"fastapi detail", 422, `{"detail":"Invalid size format"}`, imagegen.CodeRejected, 400, metrics.ImageGenRejected, "(422): Invalid size format"},
		{"server error", 503, `{"detail":"Diffusion engine not initialized"}`, imagegen.CodeFailed, 502, metrics.ImageGenFailed, "answered 503: Diffusion engine not initialized"},
		{"bad key", 401, `{"error":{"message":"Incorrect API key"}}`, imagegen.CodeFailed, 502, metrics.ImageGenFailed, "answered 401: Incorrect API key"},
		{"not json", 500, `upstream exploded`, imagegen.CodeFailed, 502, metrics.ImageGenFailed, "answered 500: upstream exploded"},
		{"no image", 200, `{"data":[]}`, imagegen.CodeFailed, 502, metrics.ImageGenFailed, "no image in data[0]"},
		{"not an image", 200, `{"data":[{"b64_json":"aGVsbG8gd29ybGQ="}]}`, imagegen.CodeFailed, 502, metrics.ImageGenFailed, "not an image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := imagegentest.New(t)
			fb.Fail(tc.status, tc.body)
			p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "openai",
				BackendConfig: map[string]any{"base_url": fb.URL, "api_key": "sk-secret"}})
			_, err := p.Generate(context.Background(), p.Prepare("a cat"))
			if !errors.Is(err, imagegen.ErrBackend) {
				t.Fatalf("error %v does not wrap ErrBackend", err)
			}
			apiErr, outcome := p.Failure(err)
			if apiErr.Code != tc.code || apiErr.Status != tc.http || outcome != tc.outcome || !strings.Contains(apiErr.Message, tc.msg) {
				t.Errorf("got %d %s %s %q", apiErr.Status, apiErr.Code, outcome, apiErr.Message)
			}
			if strings.Contains(apiErr.Message, "sk-secret") {
				t.Errorf("the message leaks the key: %s", apiErr.Message)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		fb := imagegentest.New(t)
		url := fb.URL
		fb.Close()
		p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "vllm_omni", BackendConfig: map[string]any{"base_url": url}})
		_, err := p.Generate(context.Background(), p.Prepare("a cat"))
		apiErr, outcome := p.Failure(err)
		if !errors.Is(err, imagegen.ErrBackend) || apiErr.Status != 502 || outcome != metrics.ImageGenFailed ||
			!strings.Contains(apiErr.Message, "image generation backend vllm_omni ("+url+"/v1/images/generations) failed") {
			t.Errorf("got %v → %d %q", err, apiErr.Status, apiErr.Message)
		}
	})
	t.Run("time bound", func(t *testing.T) {
		fb := imagegentest.New(t)
		release := fb.Hold()
		defer release()
		p := compile(t, &config.ImageGenPlugin{Enabled: true, Backend: "vllm_omni", TimeoutSeconds: 1,
			BackendConfig: map[string]any{"base_url": fb.URL, "timeout_seconds": 0.05}})
		if p.Timeout() != 50*time.Millisecond {
			t.Fatalf("timeout %v", p.Timeout())
		}
		_, err := p.Generate(context.Background(), p.Prepare("a cat"))
		apiErr, outcome := p.Failure(err)
		if !errors.Is(err, context.DeadlineExceeded) || apiErr.Status != 504 || apiErr.Code != imagegen.CodeTimeout || outcome != metrics.ImageGenTimeout {
			t.Errorf("got %v → %d %s %s", err, apiErr.Status, apiErr.Code, outcome)
		}
	})
}

func TestAppendCompletion(t *testing.T) {
	im := &imagegen.Image{B64: "iVBORw0KGgo=", MIME: "image/png", InputTokens: 3, OutputTokens: 5}
	c := imagegen.Completion{ID: "chatcmpl-img-1", Created: 1700000000, Model: "sdxl-image", Prompt: "a [red] fox\nin snow"}
	var got struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
				Images  []struct {
					Type     string `json:"type"`
					ImageURL struct {
						URL string `json:"url"`
					} `json:"image_url"`
				} `json:"images"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(imagegen.AppendCompletion(nil, c, im), &got); err != nil {
		t.Fatal(err)
	}
	msg := got.Choices[0].Message
	const url = "data:image/png;base64,iVBORw0KGgo="
	if got.Object != "chat.completion" || got.Model != "sdxl-image" || msg.Role != "assistant" ||
		msg.Content != "![a  red  fox in snow]("+url+")" || len(msg.Images) != 1 || msg.Images[0].Type != "image_url" ||
		msg.Images[0].ImageURL.URL != url || got.Choices[0].FinishReason != "stop" || got.Usage.TotalTokens != 8 {
		t.Errorf("completion %+v", got)
	}
	t.Run("url answer", func(t *testing.T) {
		b := imagegen.AppendCompletion(nil, c, &imagegen.Image{URL: imagegentest.URL})
		if !bytes.Contains(b, []byte(`"content":"![a  red  fox in snow](`+imagegentest.URL+`)"`)) {
			t.Errorf("body %s", b)
		}
	})
}

func TestAppendStream(t *testing.T) {
	im := &imagegen.Image{B64: "iVBORw0KGgo=", MIME: "image/png"}
	c := imagegen.Completion{ID: "chatcmpl-img-1", Created: 1, Model: "m", Prompt: "p"}
	for _, usage := range []bool{false, true} {
		s := string(imagegen.AppendStream(nil, c, im, usage))
		events := strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n")
		want := 3
		if usage {
			want = 4
		}
		if len(events) != want || events[len(events)-1] != "data: [DONE]" {
			t.Fatalf("usage=%v: %d events: %q", usage, len(events), s)
		}
		for _, e := range events[:len(events)-1] {
			var chunk map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(e, "data: ")), &chunk); err != nil || chunk["object"] != "chat.completion.chunk" {
				t.Errorf("chunk %q: %v", e, err)
			}
		}
		if !strings.Contains(events[0], `"content":"![p](data:image/png;base64,iVBORw0KGgo=)"`) {
			t.Errorf("first chunk %s", events[0])
		}
	}
}
