package server_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
)

// kbServiceDoc sends security incidents (the support knowledge base of
// package kb's testdata) to a guarded model. KBDIR is the knowledge
// base's directory.
const kbServiceDoc = `version: v0.3
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
    - name: guarded
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
routing:
  signals:
    kb:
      - name: incident
        kb: support
        target: {kind: group, value: risk}
        match: best
  decisions:
    - name: security_guard
      rules:
        operator: AND
        conditions:
          - type: kb
            name: incident
      modelRefs:
        - model: guarded
global:
  model_catalog:
    kbs:
      - name: support
        source: {path: KBDIR}
        threshold: 0.3
        groups:
          risk: [security_incident]
`

// TestKBRoutingThroughService runs the classifier service with the real
// USE-Lite embedder: a decision on a kb condition routes a security
// incident, and a revision whose knowledge base is missing is rejected
// with its YAML path while the previous revision keeps serving.
func TestKBRoutingThroughService(t *testing.T) {
	emb := usetest.UseLite(t)
	dir, err := filepath.Abs(filepath.Join("..", "kb", "testdata", "support"))
	if err != nil {
		t.Fatal(err)
	}
	e := startWith(t, []byte(strings.ReplaceAll(kbServiceDoc, "KBDIR", dir)), emb, nil)
	client := classifierv1connect.NewClassifierServiceClient(natsrpc.NewClient(e.nc), natsrpc.BaseURL)
	eval := func(text string) *classifierv1.Evaluation {
		t.Helper()
		vs, err := emb.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		facts := &classifierv1.RequestFacts{RequestedModel: "auto", Messages: []*commonv1.ChatMessage{
			{Role: "user", Content: []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: text}}},
		}}
		res, err := client.Eval(context.Background(), connect.NewRequest(&classifierv1.EvalRequest{
			Facts: facts, QueryEmbeddings: map[string]*commonv1.Vector{usetest.Model: {Values: vs[0]}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetEvaluation()
	}
	check := func(text, decision, model string) {
		t.Helper()
		ev := eval(text)
		if ev.GetDecision().GetName() != decision || ev.GetModel().GetName() != model {
			t.Errorf("%q: decision %q model %q, want %q %q (signals %v)", text, ev.GetDecision().GetName(), ev.GetModel().GetName(), decision, model, ev.GetSignals())
		}
		if decision != "" && !hasSignal(ev, "kb", "incident") {
			t.Errorf("%q: kb incident not matched: %v", text, ev.GetSignals())
		}
		if len(ev.GetDegraded()) > 0 {
			t.Errorf("%q: degraded %v", text, ev.GetDegraded())
		}
	}
	const incident = "Someone broke into our admin account and is deleting users"
	check(incident, "security_guard", "guarded")
	check("Hi! How was your weekend?", "", "small")

	missing := filepath.Join(t.TempDir(), "gone")
	rev := e.publish(t, []byte(strings.ReplaceAll(kbServiceDoc, "KBDIR", missing)))
	st := e.waitStatus(t, rev)
	if st.Accepted || st.Serving != 1 || !strings.Contains(st.Error, "global.model_catalog.kbs[0].source (line ") || !strings.Contains(st.Error, missing) {
		t.Errorf("status %+v, want rejected naming global.model_catalog.kbs[0].source and %s, serving 1", st, missing)
	}
	if got := e.svc.Current().Revision(); got != 1 {
		t.Errorf("serving revision %d after a rejected one, want 1", got)
	}
	check(incident, "security_guard", "guarded")
}
