package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// recClassifier stands in for the classifier service (it needs NATS and
// the models): every request is routed by decision rec.
type recClassifier struct{}

func (recClassifier) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	return &gateway.Decision{Name: "rec", Confidence: 1}, nil
}

// replayRouter is a real API-mode gateway in front of devllm (our
// development backend) whose decision keeps router_replay records; the
// peers it trusts are none, so reading needs the management token.
func replayRouter(t *testing.T) string {
	t.Helper()
	backend := httptest.NewServer(devllm.New(devllm.Options{Name: "backend"}))
	t.Cleanup(backend.Close)
	doc := `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: m1}
  models: [{name: m1, backend_refs: [{name: b, endpoint: "` + backend.Listener.Addr().String() + `"}]}]
routing:
  signals: {keywords: [{name: kw, keywords: [x]}]}
  decisions:
    - name: rec
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins: [{type: router_replay, configuration: {enabled: true, max_records: 10, capture_request_body: true}}]
`
	cfg, _, err := config.Parse([]byte(doc), "replay")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := routes.FromConfig(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(tbl, gateway.Stages{Classifier: recClassifier{}}, log)
	none, _ := apimode.ParseTrustedProxies("")
	env := func(k string) string {
		if k == apimode.EnvManagementToken {
			return "tok-123"
		}
		return ""
	}
	h := apimode.New(gw, log, apimode.WithTrustedProxies(none), apimode.WithEnv(env)).Handler(time.Minute)
	done := make(chan struct{}, 8)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/v1/chat/completions" {
			done <- struct{}{}
		}
	}))
	t.Cleanup(hs.Close)
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"chat", "--url", hs.URL, "--prompt", "hello there"}, &out, &errb); err != nil {
		t.Fatalf("chat: %v\n%s", err, errb.String())
	}
	<-done // the exchange ended: its record is stored
	return hs.URL
}

func TestReplayCommand(t *testing.T) {
	url := replayRouter(t)
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"replay", "--url", url}, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "403") {
		t.Fatalf("without the token: err %v, stderr %s", err, errb.String())
	}
	t.Setenv("SEMROUTER_MANAGEMENT_TOKEN", "tok-123")
	out.Reset()
	if err := Run(context.Background(), []string{"replay", "--url", url, "--decision", "rec", "--limit", "5"}, &out, &errb); err != nil {
		t.Fatalf("list: %v\n%s", err, errb.String())
	}
	var list struct {
		Data []gateway.ReplayRecord `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list.Data) != 1 {
		t.Fatalf("list %v: %s", err, out.String())
	}
	rec := list.Data[0]
	if rec.Decision != "rec" || rec.SelectedModel != "m1" || rec.Status != 200 || !strings.Contains(rec.RequestBody, "hello there") {
		t.Errorf("record %+v", rec)
	}
	out.Reset()
	if err := Run(context.Background(), []string{"replay", "--url", url, rec.ID}, &out, &errb); err != nil {
		t.Fatalf("get: %v\n%s", err, errb.String())
	}
	var one gateway.ReplayRecord
	if err := json.Unmarshal(out.Bytes(), &one); err != nil || one.ID != rec.ID {
		t.Fatalf("get %v: %s", err, out.String())
	}
	if err := Run(context.Background(), []string{"replay", "--url", url, "a", "b"}, &out, &errb); ExitCode(err) != ExitUsage {
		t.Errorf("two ids: %v", err)
	}
}
