package server_test

import (
	"context"
	"math"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/classifier/server"
)

// scoresDoc routes "split" prompts by weight and everything else by
// router_dc over two model cards' descriptions.
const scoresDoc = `version: v0.3
providers:
  defaults:
    default_model: chef
  models:
    - name: chef
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
    - name: mathematician
      backend_refs: [{name: local, endpoint: "127.0.0.1:8000"}]
routing:
  modelCards:
    - name: chef
      description: cooking recipes baking food kitchen
    - name: mathematician
      description: mathematics algebra calculus equations integrals
  signals:
    keywords:
      - name: split
        operator: OR
        keywords: ["split"]
  decisions:
    - name: weighted_split
      priority: 20
      rules: {operator: AND, conditions: [{type: keyword, name: split}]}
      modelRefs: [{model: chef, weight: 1}, {model: mathematician, weight: 1}]
      algorithm: {type: weighted}
    - name: by_description
      priority: 10
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: chef}, {model: mathematician}]
      algorithm: {type: router_dc}
`

// TestModelScoresOverNATS: Classify and Eval, called with the generated
// client over a real NATS server, carry the selection algorithm's score
// of every modelRef (router_dc: the cosine of the query to the model's
// description, the scale it picks by) and none for weighted selection.
func TestModelScoresOverNATS(t *testing.T) {
	e := start(t, []byte(scoresDoc), nil)
	client := classifierv1connect.NewClassifierServiceClient(natsrpc.NewClient(e.nc), natsrpc.BaseURL)
	cosine := func(a, b []float32) float64 {
		var dot, na, nb float64
		for i := range a {
			dot += float64(a[i]) * float64(b[i])
			na += float64(a[i]) * float64(a[i])
			nb += float64(b[i]) * float64(b[i])
		}
		return dot / math.Sqrt(na*nb)
	}
	tests := []struct {
		name, prompt, decision, model string
		scored                        bool
	}{
		{"router_dc scores each model", "solve these equations with algebra", "by_description", "mathematician", true},
		{"router_dc scores each model, other winner", "a baking recipe for the kitchen", "by_description", "chef", true},
		{"weighted has no scores", "split this between the kitchen and algebra", "weighted_split", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := e.emb.Vector(tc.prompt)
			want := []*classifierv1.ModelScore{
				{Model: "chef", Score: cosine(q, e.emb.Vector("cooking recipes baking food kitchen"))},
				{Model: "mathematician", Score: cosine(q, e.emb.Vector("mathematics algebra calculus equations integrals"))},
			}
			embs := map[string]*commonv1.Vector{e.emb.Model(): {Values: q}}
			cres, err := client.Classify(context.Background(), connect.NewRequest(&classifierv1.ClassifyRequest{Facts: facts(tc.prompt), QueryEmbeddings: embs}))
			if err != nil {
				t.Fatal(err)
			}
			eres, err := client.Eval(context.Background(), connect.NewRequest(&classifierv1.EvalRequest{Facts: facts(tc.prompt), QueryEmbeddings: embs}))
			if err != nil {
				t.Fatal(err)
			}
			for api, ev := range map[string]*classifierv1.Evaluation{"classify": cres.Msg.GetEvaluation(), "eval": eres.Msg.GetEvaluation()} {
				if ev.GetDecision().GetName() != tc.decision || tc.model != "" && ev.GetModel().GetName() != tc.model {
					t.Fatalf("%s: decision %q model %q, want %q %q", api, ev.GetDecision().GetName(), ev.GetModel().GetName(), tc.decision, tc.model)
				}
				got := ev.GetModelScores()
				if !tc.scored {
					if len(got) != 0 {
						t.Fatalf("%s: scores %v, want none", api, got)
					}
					continue
				}
				if len(got) != len(want) {
					t.Fatalf("%s: scores %v, want %v", api, got, want)
				}
				for i, w := range want {
					if got[i].GetModel() != w.GetModel() || math.Abs(got[i].GetScore()-w.GetScore()) > 1e-6 {
						t.Fatalf("%s: scores %v, want %v", api, got, want)
					}
				}
				// router_dc picks the most similar description
				best := got[0]
				if got[1].GetScore() > best.GetScore() {
					best = got[1]
				}
				if best.GetModel() != ev.GetModel().GetName() {
					t.Fatalf("%s: chose %q, best score %v", api, ev.GetModel().GetName(), got)
				}
			}
			// the JSON eval endpoint embeds the text itself and says the same
			var out server.EvalResponse
			if code := postJSON(t, e.httpURL+"/api/v1/eval", map[string]any{"text": tc.prompt}, &out); code != http.StatusOK {
				t.Fatalf("POST /api/v1/eval: %d", code)
			}
			js := out.Decision.ModelScores
			if !tc.scored {
				if js != nil {
					t.Fatalf("JSON eval scores %v, want none", js)
				}
				return
			}
			if len(js) != 2 || js[0].Model != "chef" || js[1].Model != "mathematician" ||
				math.Abs(js[0].Score-want[0].GetScore()) > 1e-6 || math.Abs(js[1].Score-want[1].GetScore()) > 1e-6 {
				t.Fatalf("JSON eval scores %+v, want %v", js, want)
			}
		})
	}
}
