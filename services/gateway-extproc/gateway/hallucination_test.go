package gateway

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/grounding"
)

func TestFactCheckFlagged(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     *Decision
		wants bool
	}{
		{"no decision", nil, false},
		{"no fact_check match", &Decision{Matched: map[string][]string{"keyword": {"kw"}}}, false},
		{"needs_fact_check", &Decision{Matched: map[string][]string{"fact_check": {"needs_fact_check"}}}, true},
		{"custom positive rule", &Decision{Matched: map[string][]string{"fact_check": {"medical_claims"}}}, true},
		{"negative class", &Decision{Matched: map[string][]string{"fact_check": {"no_fact_check_needed"}}}, false},
		{"negative aliases", &Decision{Matched: map[string][]string{"fact_check": {"fact_check_not_needed", "not_factual", "creative"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := factCheckFlagged(tc.d); got != tc.wants {
				t.Errorf("got %v, want %v", got, tc.wants)
			}
		})
	}
}

// TestHallucinationDetails: the details header is valid ASCII JSON and
// stays under maxDetailsBytes however many spans there are.
func TestHallucinationDetails(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spans    int
		missing  string
		wantMore bool
	}{
		{"one span with non-ASCII", 1, "Zürich “quoted” 😀", false},
		{"many spans are cut", 200, strings.Repeat("x", 200), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hallucResult{verdict: metrics.HallucinationDetected}
			for i := range tc.spans {
				h.v.Spans = append(h.v.Spans, grounding.Span{Start: i, End: i + 1, Reason: grounding.ReasonEntity,
					Missing: []string{tc.missing}, Score: 0.5})
			}
			b := appendDetails(nil, h)
			if len(b) > maxDetailsBytes {
				t.Errorf("details %d bytes, over %d", len(b), maxDetailsBytes)
			}
			for _, c := range b {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("non-printable or non-ASCII byte %q in %s", c, b)
				}
			}
			var d struct {
				Verdict string `json:"verdict"`
				Spans   []struct {
					Missing []string `json:"missing"`
				} `json:"spans"`
				More int `json:"more"`
			}
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("details %s: %v", b, err)
			}
			if d.Verdict != metrics.HallucinationDetected || len(d.Spans) == 0 || (d.More > 0) != tc.wantMore ||
				len(d.Spans)+d.More != tc.spans {
				t.Errorf("details %+v", d)
			}
			if want := truncateString(tc.missing, 80); d.Spans[0].Missing[0] != want {
				t.Errorf("missing %q, want %q", d.Spans[0].Missing[0], want)
			}
		})
	}
}

// BenchmarkHallucinationDetails is the details header of a ten-span
// verdict.
func BenchmarkHallucinationDetails(b *testing.B) {
	h := &hallucResult{verdict: metrics.HallucinationDetected}
	for i := range 10 {
		h.v.Spans = append(h.v.Spans, grounding.Span{Start: i * 10, End: i*10 + 9, Reason: grounding.ReasonNumber,
			Missing: []string{strconv.Itoa(i * 1000)}})
	}
	buf := make([]byte, 0, maxDetailsBytes)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendDetails(buf[:0], h)
	}
}
