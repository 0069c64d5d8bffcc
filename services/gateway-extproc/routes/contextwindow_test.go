package routes

import "testing"

const providerFieldsYAML = `version: v0.3
listeners:
  - {name: api, port: 8801}
providers:
  defaults: {default_model: small}
  models:
    - name: small
      backend_refs:
        - {name: azure, base_url: "https://x.openai.azure.com/openai/deployments/small", api_version: "2024-10-21"}
    - name: claude
      api_format: anthropic
      backend_refs: [{name: a, base_url: "https://api.anthropic.com"}]
    - name: nocard
      backend_refs: [{name: n, endpoint: "127.0.0.1:9002"}]
routing:
  modelCards:
    - {name: small, context_window_size: 4096}
    - {name: claude, context_window_size: 0}
  decisions:
    - name: d
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: small}]
recipes:
  - name: r
    routing:
      modelCards:
        - {name: small, context_window_size: 99}
        - {name: claude, context_window_size: 200000}
      decisions:
        - name: d
          rules: {operator: AND, conditions: []}
          modelRefs: [{model: claude}]
entrypoints:
  - {model_names: [vllm-sr/r], recipe: r}
`

func TestFromConfigProviderFields(t *testing.T) {
	_, spec := specFromDoc(t, providerFieldsYAML, "fields.yaml", 1)
	tbl, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		model     string
		window    int
		anthropic bool
		version   string
	}{
		{name: "top-level card wins over a recipe card", model: "small", window: 4096, version: "2024-10-21"},
		{name: "recipe card fills a zero top-level window", model: "claude", window: 200000, anthropic: true},
		{name: "no card: unknown window", model: "nocard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := tbl.Model(tc.model)
			if !ok {
				t.Fatalf("model %s missing", tc.model)
			}
			if m.ContextWindow != tc.window || m.Anthropic() != tc.anthropic || m.Backends[0].APIVersion != tc.version {
				t.Errorf("got window %d anthropic %v api_version %q, want %d %v %q",
					m.ContextWindow, m.Anthropic(), m.Backends[0].APIVersion, tc.window, tc.anthropic, tc.version)
			}
		})
	}
}
