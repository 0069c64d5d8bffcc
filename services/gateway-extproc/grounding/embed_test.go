package grounding

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
)

// TestCheckWithUseLite runs the low_similarity check with the real
// USE-Lite embedder.
func TestCheckWithUseLite(t *testing.T) {
	emb := embedtest.UseLite(t)
	weather := `{"city":"Paris","temperature_c":18,"conditions":"light rain","wind_kmh":12}`
	src := []string{weather, "Acme Corp reported revenue of $12 million for fiscal 2023, up from 9.5 million in 2022. " +
		"The company opened a new plant in Berlin and hired 300 workers there."}
	for _, tc := range []struct {
		name    string
		answer  string
		reasons []string
	}{
		{"paraphrase is supported", "In 2023 Acme Corp earned 12 million dollars in revenue.", nil},
		{"paraphrase of the plant", "Acme Corp staffed its Berlin factory with 300 new employees.", nil},
		{"specifics present, statement unrelated", "Acme Corp was founded in Berlin by two brothers who loved sailing boats.",
			[]string{ReasonLowSimilarity}},
		{"specifics present, statement unrelated 2", "Acme Corp's 2023 party in Berlin featured a jazz band and fireworks.",
			[]string{ReasonLowSimilarity}},
		{"json tool result paraphrased", "Paris has light rain and wind around 12 km/h.", nil},
		{"lexical reasons win", "Acme Corp hired 450 workers in Berlin.", []string{ReasonNumber}},
		{"chit-chat without specifics is not embedded", "Let me know if you would like more details about anything else.", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Options{}).Check(context.Background(), emb, Input{Sources: src, Answer: tc.answer})
			if v.EmbedErr != nil {
				t.Fatal(v.EmbedErr)
			}
			var reasons []string
			for _, s := range v.Spans {
				reasons = append(reasons, s.Reason)
			}
			t.Logf("spans %+v", v.Spans)
			if !slices.Equal(reasons, tc.reasons) {
				t.Errorf("reasons %q, want %q", reasons, tc.reasons)
			}
		})
	}
}

type failingEmbedder struct{}

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("embedder down")
}

type shortEmbedder struct{}

func (shortEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return [][]float32{{1}}, nil
}

// TestCheckEmbedderFailure: a failing embedder leaves the lexical verdict.
func TestCheckEmbedderFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		emb  Embedder
	}{{"error", failingEmbedder{}}, {"wrong shape", shortEmbedder{}}} {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Options{}).Check(context.Background(), tc.emb, Input{Sources: []string{"Oslo has 40 trucks."},
				Answer: "Oslo has 41 trucks in the depot."})
			if v.EmbedErr == nil || v.Similarity || !v.HallucinationDetected || v.Spans[0].Reason != ReasonNumber {
				t.Errorf("verdict %+v", v)
			}
		})
	}
}
