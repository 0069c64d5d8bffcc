package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/domain"
)

// TestIntentWithDomainHead: with a domain head for the service's embedder
// model, /api/v1/classify/intent answers in the upstream shape.
func TestIntentWithDomainHead(t *testing.T) {
	emb := &classifiertest.HashEmbedder{}
	examples := [][2]string{
		{"math", "solve the equation for x"}, {"math", "integral of the polynomial"}, {"math", "prove the theorem"},
		{"computer science", "compile the program"}, {"computer science", "debug the function"}, {"computer science", "sorting algorithm"},
		{"other", "what is the weather"}, {"other", "tell me a joke"}, {"other", "good morning friend"},
	}
	labels := []string{"computer science", "math", "other"}
	var x [][]float32
	var y []int
	for _, ex := range examples {
		for i, l := range labels {
			if l == ex[0] {
				x = append(x, emb.Vector(ex[1]))
				y = append(y, i)
			}
		}
	}
	head, err := domain.Train(context.Background(), x, y, labels, domain.TrainOptions{Epochs: 200, LearningRate: 0.05, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	head.Model = emb.Model()
	e := start(t, quickstart(t), nil, classifier.WithDomainHead(head))
	var out struct {
		Classification struct {
			Category   string  `json:"category"`
			Confidence float64 `json:"confidence"`
		} `json:"classification"`
		Probabilities    map[string]float64 `json:"probabilities"`
		RecommendedModel string             `json:"recommended_model"`
		RoutingDecision  string             `json:"routing_decision"`
	}
	code := postJSON(t, e.httpURL+"/api/v1/classify/intent", map[string]any{
		"text": "please solve the equation for x", "options": map[string]any{"return_probabilities": true},
	}, &out)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if out.Classification.Category != "math" || out.RoutingDecision != "hard_reasoning" || out.RecommendedModel != "big-reasoner" || len(out.Probabilities) != 3 {
		t.Errorf("intent answer %+v", out)
	}
}
