package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/services/classifier/jailbreak"
)

// maxScoreTextBytes bounds the text ScoreText scores (a model answer;
// longer texts are scored on their first maxScoreTextBytes bytes, cut at
// a rune boundary).
const maxScoreTextBytes = 1 << 20

// harmScorer is the part of *jailbreak.Scorer that names the harm
// category behind a score.
type harmScorer interface {
	Scores(text string) jailbreak.Scores
}

var _ harmScorer = (*jailbreak.Scorer)(nil)

// ScoreText scores a text with the jailbreak model, whatever the config's
// jailbreak rules are (the response_jailbreak plugin scans model answers
// with it).
func (h *Handler) ScoreText(ctx context.Context, r *connect.Request[classifierv1.ScoreTextRequest]) (*connect.Response[classifierv1.ScoreTextResponse], error) {
	start := h.now()
	if h.jailbreak == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("no jailbreak model loaded (classifier --guard-dir)"))
	}
	text := r.Msg.GetText()
	if len(text) > maxScoreTextBytes {
		text = cutRunes(text, maxScoreTextBytes)
	}
	out := &classifierv1.ScoreTextResponse{}
	if hs, ok := h.jailbreak.(harmScorer); ok {
		sc := hs.Scores(text)
		out.JailbreakScore = sc.Probability
		if sc.Harm >= 0.5 {
			out.HarmCategory = sc.HarmCategory.String()
		}
	} else {
		p, err := h.jailbreak.JailbreakScore(ctx, text)
		if err != nil {
			return nil, classifyErr(err)
		}
		out.JailbreakScore = p
	}
	out.ProcessingTimeMs = h.now().Sub(start).Milliseconds()
	return connect.NewResponse(out), nil
}

// cutRunes returns the longest prefix of s of at most n bytes that ends
// on a rune boundary.
func cutRunes(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
