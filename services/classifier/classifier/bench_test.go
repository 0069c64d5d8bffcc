package classifier_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
)

// prompt200 is a ~200-token user turn (about 800 bytes of English).
var prompt200 = strings.Repeat("Our service returns intermittent errors after the last deployment; first check the logs, then compare the configuration with the previous release and explain what changed. ", 5)

func benchClassify(b *testing.B, c *classifier.Classifier, req *classifier.Request) {
	ctx := context.Background()
	if _, err := c.Classify(ctx, req); err != nil {
		b.Fatal(err)
	}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := c.Classify(ctx, req); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkClassifyHeuristicOnly: no query embedding (the embedder is
// late), so only the heuristic families, including the real jailbreak
// model, decide.
func BenchmarkClassifyHeuristicOnly(b *testing.B) {
	for _, bc := range []struct {
		name, path string
		model      bool
	}{
		{"quickstart", quickstartPath(b), true},
		{"quickstart-without-jailbreak-model", quickstartPath(b), false},
		{"reference", "/work/shared/upstream/reference-config.yaml", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []classifier.Option{withTestKBs(b)}
			if bc.model {
				opts = append(opts, classifier.WithJailbreakScorer(classifiertest.JailbreakScorer(b)))
			}
			c, err := classifier.Compile(context.Background(), loadConfig(b, bc.path), &classifiertest.HashEmbedder{}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			req := withGroups(user(prompt200), "premium-tier")
			benchClassify(b, c, req)
		})
	}
}

// BenchmarkClassifyFull: every family, with the query embedding given
// (its computation is the embedder's and is excluded) and a domain head.
func BenchmarkClassifyFull(b *testing.B) {
	emb := &classifiertest.HashEmbedder{Dims: 384}
	head := trainHead(b, emb, map[string][]string{
		"math":             {"solve the equation for x", "prove the theorem step by step"},
		"computer science": {"compile the program", "debug the deployment logs"},
		"other":            {"what is the weather today", "tell me a joke"},
	})
	c, err := classifier.Compile(context.Background(), loadConfig(b, quickstartPath(b)), emb,
		classifier.WithJailbreakScorer(classifiertest.JailbreakScorer(b)), classifier.WithDomainHead(head))
	if err != nil {
		b.Fatal(err)
	}
	req := user(prompt200)
	req.Query = emb.Vector(prompt200)
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Degraded) > 0 {
		b.Fatalf("degraded families in the full benchmark: %+v", res.Degraded)
	}
	benchClassify(b, c, req)
}
