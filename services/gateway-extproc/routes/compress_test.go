package routes

import (
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/compress"
)

const compressionDoc = pluginDocHead + `  decisions:
    - name: off
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: m1}]
      plugins:
        - type: context_compression
          configuration: {enabled: false}
    - name: on
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: m1}]
      plugins:
        - type: context_compression
          configuration:
            enabled: true
            budget: {trigger_tokens: 3000, target_tokens: 2000}
`

func TestCompressionFromConfig(t *testing.T) {
	cfg, spec := specFromDoc(t, compressionDoc, "compression", 1)
	if spec.Decisions[0].Plugins.Compression != nil {
		t.Error("disabled plugin compiled")
	}
	p := spec.Decisions[1].Plugins.Compression
	if p == nil {
		t.Fatal("enabled plugin not compiled")
	}
	if b, ok, err := p.Budgets(0, 0, compress.Control{}); err != nil || !ok || b.Trigger != 3000 || b.Target != 2000 {
		t.Errorf("budgets %+v %v %v", b, ok, err)
	}

	// A value validation would have refused (set after parsing) rejects
	// the revision with the plugin's YAML path and line.
	cfg.Routing.Decisions[1].Plugins[0].Configuration.(*config.ContextCompressionPlugin).Budget.TriggerTokens = "many"
	_, err := FromConfig(cfg, 2)
	if err == nil {
		t.Fatal("revision accepted")
	}
	for _, w := range []string{"routing.decisions[1].plugins[0].configuration", "budget.trigger_tokens", "(line 21)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
