package gateway

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestModalitySkipsTextOnlyModels routes decision "complex" (modelRefs
// qwen3-32b, plain; default qwen3-8b) with some models marked text-only
// and checks that a request with an image part skips them, as the
// context-window filter skips models too small.
func TestModalitySkipsTextOnlyModels(t *testing.T) {
	const image = `{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"what is in this picture?"},` +
		`{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`
	const text = `{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}]}`
	tests := []struct {
		name      string
		textOnly  []string
		body      string
		wantOrder string // "" : the 400
	}{
		{name: "no constraint", body: image, wantOrder: "qwen3-32b,plain,qwen3-8b"},
		{name: "skips the text-only selection", textOnly: []string{"qwen3-32b"}, body: image, wantOrder: "plain,qwen3-8b"},
		{name: "text requests are unconstrained", textOnly: []string{"qwen3-32b", "plain", "qwen3-8b"}, body: text,
			wantOrder: "qwen3-32b,plain,qwen3-8b"},
		{name: "only the default takes images", textOnly: []string{"qwen3-32b", "plain"}, body: image, wantOrder: "qwen3-8b"},
		{name: "none takes images: 400", textOnly: []string{"qwen3-32b", "plain", "qwen3-8b"}, body: image},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			for i := range spec.Models {
				for _, n := range tc.textOnly {
					if spec.Models[i].Name == n {
						spec.Models[i].TextOnly = true
					}
				}
			}
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}})
			x, imm, fwd := chat(g, noHeaders, tc.body)
			if tc.wantOrder == "" {
				if imm == nil || imm.Status != 400 || gjson.GetBytes(imm.Body, "error.code").Str != CodeImageInputUnsupported ||
					gjson.GetBytes(imm.Body, "error.type").Str != "invalid_request_error" {
					t.Fatalf("want a 400 %s, got immediate %+v forward %v", CodeImageInputUnsupported, imm, fwd != nil)
				}
				if m := gjson.GetBytes(imm.Body, "error.message").Str; !strings.Contains(m, "qwen3-32b, plain, qwen3-8b") {
					t.Errorf("message %q does not name the models", m)
				}
				if headerMap(x.ResponseHeaders(400, "application/json"))["x-vsr-response-path"] != PathRejected {
					t.Error("response path is not rejected")
				}
				return
			}
			if imm != nil {
				t.Fatalf("immediate %d %s", imm.Status, imm.Body)
			}
			var order []string
			for _, tg := range fwd.Targets {
				order = append(order, tg.Model.Name)
			}
			if got := strings.Join(order, ","); got != tc.wantOrder {
				t.Errorf("targets %s, want %s", got, tc.wantOrder)
			}
		})
	}
}
