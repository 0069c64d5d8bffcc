package imagegen_test

import (
	"encoding/base64"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen/imagegentest"
)

// BenchmarkBuildRequest: deciding, preparing the prompt and size, and
// rendering the backend body of one request.
func BenchmarkBuildRequest(b *testing.B) {
	p, err := imagegen.Compile(&config.ImageGenPlugin{Enabled: true, Backend: "vllm_omni", MaxInferenceSteps: 28,
		ModalityDetection: &config.ModalityDetection{Keywords: []string{"generate an image", "draw", "create a picture"}},
		BackendConfig: map[string]any{"base_url": "http://omni:8005", "model": "Qwen/Qwen-Image", "num_inference_steps": 28,
			"cfg_scale": 4.5, "seed": 42}}, imagegen.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const text = "Please generate an image of a lighthouse on a cliff at dusk, landscape, oil painting style"
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := p.Decide(text, nil); !ok {
			b.Fatal("not an image request")
		}
		buf = p.AppendBody(buf[:0], p.Prepare(text))
	}
}

// BenchmarkAssembleResponse: parsing a backend answer with a 256×256 PNG
// and rendering the chat.completion and its SSE stream.
func BenchmarkAssembleResponse(b *testing.B) {
	body := []byte(`{"created":1,"data":[{"b64_json":"` + base64.StdEncoding.EncodeToString(imagegentest.PNG(b, 256, 256)) + `"}]}`)
	c := imagegen.Completion{ID: "chatcmpl-img-1", Created: 1, Model: "sdxl-image", Prompt: "a lighthouse on a cliff at dusk"}
	buf := make([]byte, 0, 4*len(body))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		im, err := imagegen.ParseResponse(body)
		if err != nil {
			b.Fatal(err)
		}
		buf = imagegen.AppendCompletion(buf[:0], c, im)
		buf = imagegen.AppendStream(buf[:0], c, im, true)
	}
}
