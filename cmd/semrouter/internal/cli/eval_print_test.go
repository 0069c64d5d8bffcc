package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/server"
)

// TestPrintEvalScores: `semrouter eval` prints the selection algorithm's
// per-model scores when the decision's algorithm computed them.
func TestPrintEvalScores(t *testing.T) {
	tests := []struct {
		name   string
		scores []server.EvalModelScore
		want   string // a line that must appear; "" means no scores line
	}{
		{"router_dc scores", []server.EvalModelScore{{Model: "chef", Score: 0.4507}, {Model: "mathematician", Score: 0.16114}},
			"scores:     chef 0.451, mathematician 0.161\n"},
		{"no scores", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printEval(&b, server.EvalResponse{Decision: server.EvalDecision{Name: "chat", Model: "chef", ModelScores: tc.scores}})
			out := b.String()
			if tc.want == "" {
				if strings.Contains(out, "scores:") {
					t.Fatalf("output has a scores line:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
