package apimode

// Shared setup of the end-to-end tests: a config document is parsed and
// compiled, and API mode serves it to an OpenAI SDK client. The LLM
// backends the documents name are FAKES (httptest servers; no real model
// can run here), started by each test. The helpers are exported so that
// the tests of package apimode_test use the same setup.

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// KeywordDocHead starts a config document whose one model m1 is served
// at BACKEND (a FAKE LLM's address, replaced by the test) and whose
// decisions match the keyword signal kw; it ends opening the decision
// list.
const KeywordDocHead = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: m1}
  models:
    - name: m1
      backend_refs: [{name: b, endpoint: "BACKEND"}]
routing:
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
`

// SpecFromYAML parses the config document doc (named file in problems)
// and compiles it into revision 1 of a routes.Spec. A refused document or
// a compile error fails the test; each problem that unwanted (when not
// nil) marks is reported as a test error. edit, when not nil, changes the
// parsed config before it is compiled.
func SpecFromYAML(t *testing.T, doc, file string, unwanted func(config.Problem) bool, edit func(*config.Config)) routes.Spec {
	t.Helper()
	cfg, probs, err := config.Parse([]byte(doc), file)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	for _, p := range probs {
		if unwanted != nil && unwanted(p) {
			t.Errorf("unexpected problem: %v", p)
		}
	}
	if edit != nil {
		edit(cfg)
	}
	spec, err := routes.FromConfig(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// PluginProblem marks the problems reported under a plugins path.
func PluginProblem(p config.Problem) bool { return strings.Contains(p.Path, "plugins") }

// E2EOptions tunes StartE2E; the zero value serves with a one-minute
// request timeout to a client with API key "k".
type E2EOptions struct {
	// GatewayOptions and Options are passed to gateway.New and New.
	GatewayOptions []gateway.Option
	Options        []Option
	// Timeout is the handler's request timeout (default one minute).
	Timeout time.Duration
	// Wrap, when not nil, wraps API mode's handler in the test server.
	Wrap func(http.Handler) http.Handler
	// APIKey is the key the client sends (default "k").
	APIKey string
}

// E2E is API mode serving a compiled config in a test.
type E2E struct {
	URL     string
	Gateway *gateway.Gateway
	// Client is an OpenAI SDK client of URL that does not retry.
	Client openai.Client
}

// StartE2E compiles spec, starts a gateway with the stages st and API mode
// over it on an httptest server (both stopped when the test ends) and
// makes an OpenAI SDK client for it.
func StartE2E(t *testing.T, spec routes.Spec, st gateway.Stages, o E2EOptions) *E2E {
	t.Helper()
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	if o.APIKey == "" {
		o.APIKey = "k"
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(tbl, st, log, o.GatewayOptions...)
	h := New(gw, log, o.Options...).Handler(o.Timeout)
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	t.Cleanup(gw.Wait)
	return &E2E{URL: hs.URL, Gateway: gw,
		Client: openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithAPIKey(o.APIKey), option.WithMaxRetries(0))}
}
