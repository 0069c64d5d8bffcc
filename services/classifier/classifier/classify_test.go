package classifier_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/semantic"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

func quickstartPath(t testing.TB) string {
	t.Helper()
	root, err := classifiertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "config", "quickstart.yaml")
}

// TestComplexityProjectionDecision exercises the embedding path: the
// complexity rule (hard vs easy candidate banks) feeds the difficulty
// score, whose band selects hard_reasoning with reasoning on.
func TestComplexityProjectionDecision(t *testing.T) {
	emb := &classifiertest.HashEmbedder{}
	// The difficulty score reads the domain family too: without a head its
	// value is unknown and the band never fires, so give it a small head.
	head := trainHead(t, emb, map[string][]string{
		"math":             {"solve the equation for x", "prove the theorem step by step", "justify each step of the proof"},
		"computer science": {"compile the program", "sorting algorithm complexity", "hash table lookup"},
		"other":            {"what is the weather today", "tell me a joke", "good morning friend"},
	})
	c, err := classifier.Compile(context.Background(), loadConfig(t, quickstartPath(t)), emb, classifier.WithRevision(7), classifier.WithDomainHead(head))
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "Prove this step by step and justify each step"
	tests := []struct {
		name     string
		query    []float32
		decision string
		degraded bool
	}{
		{name: "with query embedding", query: emb.Vector(prompt), decision: "hard_reasoning"},
		{name: "without query embedding", query: nil, decision: "general", degraded: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := user(prompt)
			req.Query = tc.query
			res, err := c.Classify(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tc.decision {
				t.Fatalf("decision %q, want %q (signals %+v, degraded %+v)", res.Decision, tc.decision, res.Signals, res.Degraded)
			}
			if got := res.DegradedFamily(signal.Complexity); got != tc.degraded {
				t.Errorf("complexity degraded = %v, want %v (%+v)", got, tc.degraded, res.Degraded)
			}
			if res.Revision != 7 {
				t.Errorf("revision %d, want 7", res.Revision)
			}
			if tc.degraded {
				return
			}
			m, ok := res.Matched(signal.Complexity, "reasoning_need:hard")
			if !ok || m.Confidence <= 0.5 {
				t.Errorf("reasoning_need:hard not matched with confidence > 0.5: %+v", res.Signals)
			}
			if !res.UseReasoning || res.ReasoningEffort != "high" || res.ReasoningFamily != "gpt" || res.Model != "big-reasoner" {
				t.Errorf("reasoning = %v/%q/%q model %q, want true/high/gpt big-reasoner", res.UseReasoning, res.ReasoningEffort, res.ReasoningFamily, res.Model)
			}
			if !hasProjection(res, "difficulty_high") {
				t.Errorf("projection difficulty_high missing: %+v", res.Projections)
			}
			if len(res.Plugins) != 1 || res.Plugins[0].Type != "system_prompt" || res.Plugins[0].Configuration["mode"] != "insert" {
				t.Errorf("plugins = %+v", res.Plugins)
			}
		})
	}
}

func hasProjection(res *classifier.Result, name string) bool {
	for _, p := range res.Projections {
		if p.Name == name {
			return true
		}
	}
	return false
}

// TestEmbedderDown: when the candidates cannot be embedded the revision
// still compiles; embedding families report the error and heuristics route.
func TestEmbedderDown(t *testing.T) {
	emb := &classifiertest.HashEmbedder{Fail: errors.New("embedder unreachable")}
	c, err := classifier.Compile(context.Background(), loadConfig(t, quickstartPath(t)), emb)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings()) != 1 {
		t.Errorf("warnings = %v, want one", c.Warnings())
	}
	req := user("Please debug this function")
	req.Query = emb.Vector("Please debug this function")
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "coding" {
		t.Errorf("decision %q, want coding", res.Decision)
	}
	for _, f := range []signal.Family{signal.Embedding, signal.Complexity} {
		if !res.DegradedFamily(f) {
			t.Errorf("family %s not reported degraded: %+v", f, res.Degraded)
		}
	}
}

// TestQueryDimensionMismatch: a query from another model is rejected per
// request, not silently scored.
func TestQueryDimensionMismatch(t *testing.T) {
	c, err := classifier.Compile(context.Background(), loadConfig(t, quickstartPath(t)), &classifiertest.HashEmbedder{Dims: 64})
	if err != nil {
		t.Fatal(err)
	}
	req := user("Prove this step by step")
	req.Query = make([]float32, 32)
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.DegradedFamily(signal.Complexity) {
		t.Fatalf("complexity not degraded on a 32-dim query: %+v", res.Degraded)
	}
}

// TestDomainHead trains a small softmax head over the test embedder and
// checks that the domain family drives config.e2e.yaml's domain decisions.
func TestDomainHead(t *testing.T) {
	emb := &classifiertest.HashEmbedder{Name: "test-hash-domain"}
	head := trainHead(t, emb, map[string][]string{
		"law":       {"court lawsuit attorney contract", "judge ruled the contract void", "attorney filed a lawsuit in court"},
		"biology":   {"cells divide by mitosis", "dna in the cell nucleus", "photosynthesis in plant cells"},
		"other":     {"what is the weather today", "tell me a joke", "good morning friend"},
		"economics": {"inflation and interest rates", "gdp growth and unemployment", "supply and demand curves"},
	})
	c, err := classifier.Compile(context.Background(), loadConfig(t, "/work/shared/upstream/configs/config.e2e.yaml"), emb, classifier.WithDomainHead(head))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ prompt, decision, model string }{
		{"the attorney says the court will hear the lawsuit", "law_decision", "Model-B"},
		{"how do cells copy their dna", "biology_decision", "Model-A"},
	}
	for _, tc := range tests {
		req := user(tc.prompt)
		req.Query = emb.Vector(tc.prompt)
		res, err := c.Classify(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Decision != tc.decision || res.Model != tc.model {
			t.Errorf("%q: decision %q model %q, want %q %q (domain %+v)", tc.prompt, res.Decision, res.Model, tc.decision, tc.model, res.Domain)
		}
		if res.DegradedFamily(signal.Domain) {
			t.Errorf("domain degraded: %+v", res.Degraded)
		}
	}
}

func TestNoQueryIsErrNoQuery(t *testing.T) {
	c, err := classifier.Compile(context.Background(), loadConfig(t, quickstartPath(t)), &classifiertest.HashEmbedder{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Classify(context.Background(), user("hi"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Degraded {
		if d.Family == signal.Embedding && d.Err != semantic.ErrNoQuery.Error() {
			t.Errorf("embedding degraded with %q, want %q", d.Err, semantic.ErrNoQuery)
		}
	}
	if !c.NeedsQuery() {
		t.Error("NeedsQuery = false for a config with embedding rules")
	}
}

// trainHead fits a softmax domain head on the test embedder's vectors of
// a few labelled examples.
func trainHead(t testing.TB, emb *classifiertest.HashEmbedder, examples map[string][]string) *domain.Head {
	t.Helper()
	labels := make([]string, 0, len(examples))
	for l := range examples {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	var x [][]float32
	var y []int
	for i, l := range labels {
		for _, s := range examples[l] {
			x = append(x, emb.Vector(s))
			y = append(y, i)
		}
	}
	head, err := domain.Train(context.Background(), x, y, labels, domain.TrainOptions{Epochs: 200, LearningRate: 0.05, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	head.Model = emb.Model()
	return head
}

// stuckScorer is a FAKE jailbreak model that never answers (a hung model
// server); it returns only when its context ends.
type stuckScorer struct{}

func (stuckScorer) JailbreakScore(ctx context.Context, _ string) (float64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestFamilyDeadline: a family that overruns its deadline is reported
// degraded and the decision is still made from the others.
func TestFamilyDeadline(t *testing.T) {
	c, err := classifier.Compile(context.Background(), loadConfig(t, quickstartPath(t)), &classifiertest.HashEmbedder{},
		classifier.WithJailbreakScorer(stuckScorer{}), classifier.WithFamilyTimeout(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Classify(context.Background(), user("Please refactor this function"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "coding" {
		t.Errorf("decision %q, want coding", res.Decision)
	}
	found := false
	for _, d := range res.Degraded {
		if d.Family == signal.Jailbreak && strings.Contains(d.Err, context.DeadlineExceeded.Error()) {
			found = true
		}
	}
	if !found {
		t.Errorf("jailbreak not degraded by the deadline: %+v", res.Degraded)
	}
}

// TestDomainHeadDir loads the head for the embedder's model from a head
// directory, and rejects a head trained on another model.
func TestDomainHeadDir(t *testing.T) {
	emb := &classifiertest.HashEmbedder{Name: "org/hash-model"}
	head := trainHead(t, emb, map[string][]string{
		"math":  {"solve the equation", "prove the theorem"},
		"other": {"tell me a joke", "good morning"},
	})
	write := func(dir string, h *domain.Head) {
		f, err := os.Create(classifier.DomainHeadPath(dir, emb.Model()))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := h.WriteTo(f); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write(dir, head)
	if got, want := classifier.DomainHeadPath(dir, emb.Model()), filepath.Join(dir, "org_hash-model.json"); got != want {
		t.Errorf("DomainHeadPath = %q, want %q", got, want)
	}
	cfg := loadConfig(t, quickstartPath(t))
	c, err := classifier.Compile(context.Background(), cfg, emb, classifier.WithDomainHeadDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	req := user("solve the equation")
	req.Query = emb.Vector("solve the equation")
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Matched(signal.Domain, "math"); !ok || res.DegradedFamily(signal.Domain) {
		t.Errorf("domain math not matched from the head directory: %+v %+v", res.Signals, res.Degraded)
	}

	other := *head
	other.Model = "another-model"
	bad := t.TempDir()
	write(bad, &other)
	if _, err := classifier.Compile(context.Background(), cfg, emb, classifier.WithDomainHeadDir(bad)); err == nil || !strings.Contains(err.Error(), "another-model") {
		t.Errorf("compile with a head of another model: %v", err)
	}
}
