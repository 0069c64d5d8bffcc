package routes

import "testing"

// TestImageGenFromConfig: an enabled image_gen plugin compiles into
// Plugins.ImageGen with its endpoint and time bound; a disabled one is
// nil.
func TestImageGenFromConfig(t *testing.T) {
	doc := pluginDocHead + keywordSignals + `    - name: art
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: image_gen
          configuration: {enabled: true, backend: vllm_omni, backend_config: {base_url: "http://omni:8005"}, timeout_seconds: 90}
    - name: off
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: image_gen
          configuration: {enabled: false, backend: openai}
`
	_, spec := specFromDoc(t, doc, "image_gen.yaml", 1)
	p := spec.Decisions[0].Plugins.ImageGen
	if p == nil || p.Endpoint() != "http://omni:8005/v1/images/generations" || p.Backend() != "vllm_omni" || p.Timeout().Seconds() != 90 {
		t.Fatalf("compiled %+v", p)
	}
	if spec.Decisions[1].Plugins.ImageGen != nil {
		t.Error("a disabled plugin compiled")
	}
}
