package extproc

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen/imagegentest"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestImageGenImmediateResponse: in ext_proc mode an image request of a
// decision with an image_gen plugin is answered by an immediate response
// (JSON, or SSE for a streaming client) built from the FAKE image backend
// (a real HTTP server); a failed generation is an immediate OpenAI error;
// a non-image request continues upstream. The classifier is a FAKE.
func TestImageGenImmediateResponse(t *testing.T) {
	images := imagegentest.New(t)
	p, err := imagegen.Compile(&config.ImageGenPlugin{Enabled: true, Backend: imagegen.BackendVLLMOmni,
		ModalityDetection: &config.ModalityDetection{Keywords: []string{"draw"}},
		BackendConfig:     map[string]any{"base_url": images.URL}}, imagegen.Options{HTTP: images.Client()})
	if err != nil {
		t.Fatal(err)
	}
	sp := spec()
	sp.StageTimeout = time.Minute
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "art", ModelRefs: []routes.ModelRef{{Model: "small"}}, Plugins: routes.Plugins{ImageGen: p}})
	h := startHarness(t, sp, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "art", Confidence: 1}}}, nil, nil)
	png := base64.StdEncoding.EncodeToString(images.Image)

	t.Run("json", func(t *testing.T) {
		e := h.open(t)
		e.send(chatHeaders())
		imm := e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"draw a cat"}]}`, true)).GetImmediateResponse()
		if imm == nil || imm.Status.Code != 200 {
			t.Fatalf("immediate response %v", imm)
		}
		hs := setHeaders(imm.Headers)
		if hs["content-type"] != "application/json" || hs[gateway.HeaderImageGen] != "generated" || hs[gateway.HeaderResponsePath] != "image_gen" {
			t.Errorf("headers %v", hs)
		}
		if c := gjson.GetBytes(imm.Body, "choices.0.message.content").Str; c != "![a cat](data:image/png;base64,"+png+")" {
			t.Errorf("content %.60q", c)
		}
		if images.Last(t).Body["prompt"] != "a cat" {
			t.Errorf("prompt %v", images.Last(t).Body["prompt"])
		}
	})
	t.Run("sse", func(t *testing.T) {
		e := h.open(t)
		e.send(chatHeaders())
		imm := e.send(reqBody(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"draw a dog"}]}`, true)).GetImmediateResponse()
		if imm == nil || imm.Status.Code != 200 || setHeaders(imm.Headers)["content-type"] != "text/event-stream" {
			t.Fatalf("immediate response %v", imm)
		}
		body := string(imm.Body)
		if !strings.HasPrefix(body, "data: {") || !strings.HasSuffix(body, "data: [DONE]\n\n") || !strings.Contains(body, `"delta":{"role":"assistant","content":"![a dog](data:image/png;base64,`) {
			t.Errorf("stream %.200q", body)
		}
	})
	t.Run("backend error", func(t *testing.T) {
		images.Fail(500, `{"detail":"CUDA out of memory"}`)
		defer images.Fail(0, "")
		e := h.open(t)
		e.send(chatHeaders())
		imm := e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"draw a cat"}]}`, true)).GetImmediateResponse()
		if imm == nil || imm.Status.Code != 502 || gjson.GetBytes(imm.Body, "error.code").Str != imagegen.CodeFailed ||
			!strings.Contains(gjson.GetBytes(imm.Body, "error.message").Str, "answered 500: CUDA out of memory") {
			t.Fatalf("immediate response %v", imm)
		}
		if setHeaders(imm.Headers)[gateway.HeaderDegraded] != gateway.StageImageGen {
			t.Errorf("headers %v", setHeaders(imm.Headers))
		}
	})
	t.Run("not an image request continues upstream", func(t *testing.T) {
		before := len(images.Calls())
		e := h.open(t)
		e.send(chatHeaders())
		resp := e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"what is a cat?"}]}`, true))
		if resp.GetImmediateResponse() != nil || resp.GetRequestBody() == nil {
			t.Fatalf("response %v", resp)
		}
		if len(images.Calls()) != before {
			t.Error("the image backend was called")
		}
		vsr := setHeaders(e.send(respHeaders(200, "application/json")).GetResponseHeaders().Response.HeaderMutation)
		if vsr[gateway.HeaderImageGen] != "skipped:no_keyword" {
			t.Errorf("%s = %q", gateway.HeaderImageGen, vsr[gateway.HeaderImageGen])
		}
	})
}
