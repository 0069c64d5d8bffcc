package kb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
	"github.com/semrouter/semrouter/services/classifier/kb"
	"github.com/semrouter/semrouter/services/classifier/semantic"
)

// supportDir is the test knowledge base: billing, security_incident and
// chit_chat, about ten examples each.
var supportDir = filepath.Join("testdata", "support")

// embedded loads the support knowledge base and embeds its examples and
// the queries with the real USE-Lite model.
func embedded(t testing.TB, queries ...string) (*kb.Source, map[string][]float32, [][]float32) {
	t.Helper()
	emb := usetest.UseLite(t)
	src, err := kb.Load(supportDir, "labels.json")
	if err != nil {
		t.Fatal(err)
	}
	texts := append(src.Texts(), queries...)
	vs, err := emb.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	vecs := make(map[string][]float32, len(texts))
	for i, x := range texts[:len(texts)-len(queries)] {
		vecs[x] = vs[i]
	}
	qs := make([][]float32, len(queries))
	for i := range queries {
		qs[i] = semantic.Normalize(vs[len(texts)-len(queries)+i])
	}
	return src, vecs, qs
}

func supportOptions() kb.Options {
	return kb.Options{
		Threshold: 0.3,
		Groups: map[string][]string{
			"money":   {"billing"},
			"risk":    {"security_incident"},
			"casual":  {"chit_chat"},
			"support": {"billing", "security_incident"},
		},
		Metrics:    []kb.Metric{{Name: "support_vs_casual", Type: kb.GroupMargin, Positive: "support", Negative: "casual"}},
		Prototypes: semantic.PrototypeOptions{Enabled: true, ClusterSimilarity: 0.9, MaxPrototypes: 8, BestWeight: 0.75, TopM: 2},
	}
}
