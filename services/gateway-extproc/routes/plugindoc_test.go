package routes

import (
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

// pluginDocHead starts the plugin test documents: one listener and one
// model m1, up to "routing:" (8 lines, so the lines the tests name in
// errors stay those of the whole document).
const pluginDocHead = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: m1}
  models:
    - name: m1
      backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]
routing:
`

// keywordSignals declares the keyword signal kw that the decisions of the
// plugin test documents match on, and opens their decision list.
const keywordSignals = `  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
`

// parseDoc parses a test document, failing the test when it is refused.
func parseDoc(t *testing.T, doc, file string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse([]byte(doc), file)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// specFromDoc parses a test document and compiles it as revision rev,
// failing the test on either error.
func specFromDoc(t *testing.T, doc, file string, rev uint64) (*config.Config, Spec) {
	t.Helper()
	cfg := parseDoc(t, doc, file)
	spec, err := FromConfig(cfg, rev)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, spec
}
