package gateway

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// wordScorer is a FAKE classifier stage (the jailbreak model runs in the
// classifier service): decision dec, answers scored 0.9 when they contain
// word, else 0.1.
type wordScorer struct {
	dec  string
	word string
	n    int
}

func (w *wordScorer) Classify(context.Context, *RouteRequest) (*Decision, error) {
	return &Decision{Name: w.dec, Confidence: 1}, nil
}

func (w *wordScorer) ScoreText(_ context.Context, text string) (float64, error) {
	w.n++
	if strings.Contains(text, w.word) {
		return 0.9, nil
	}
	return 0.1, nil
}

func guardSpec(action string, replay *routes.RouterReplayPlugin) routes.Spec {
	spec := testSpec()
	spec.NeedsEmbedding = false
	spec.Decisions = append(spec.Decisions, routes.Decision{Name: "guard", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
		Plugins: routes.Plugins{ResponseJailbreak: &routes.ResponseJailbreakPlugin{Threshold: 0.5, Action: action}, RouterReplay: replay}})
	return spec
}

// sseStream renders an answer as chunks of size n, a finish chunk, a
// usage chunk and [DONE], with line ending eol.
func sseStream(answer string, n int, eol string) []byte {
	var b bytes.Buffer
	for i := 0; i < len(answer); i += n {
		fmt.Fprintf(&b, `data: {"id":"c","object":"chat.completion.chunk","created":3,"model":"q","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`+eol+eol, answer[i:min(i+n, len(answer))])
	}
	b.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":3,"model":"q","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + eol + eol)
	b.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":3,"model":"q","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}` + eol + eol)
	b.WriteString("data: [DONE]" + eol + eol)
	return b.Bytes()
}

// screenStream feeds stream to a fresh exchange's StreamScreen in pieces
// of size piece and returns what the client gets.
func screenStream(t testing.TB, g *Gateway, stream []byte, piece int) ([]byte, *StreamScreen) {
	x := g.NewExchange()
	ctx := context.Background()
	x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
	if imm, _ := x.RequestBody(ctx, []byte(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`)); imm != nil {
		t.Fatalf("immediate %d %s", imm.Status, imm.Body)
	}
	x.ResponseHeaders(200, "text/event-stream")
	sc := x.NewStreamScreen()
	if sc == nil {
		t.Fatal("no stream screen")
	}
	var out []byte
	for i := 0; i < len(stream) && !sc.Stopped(); i += piece {
		out = append(out, sc.Write(ctx, stream[i:min(i+piece, len(stream))])...)
	}
	out = append(out, sc.Close(ctx)...)
	return out, sc
}

// TestStreamScreenChunking: whatever the upstream chunking and line
// endings, a clean stream passes byte for byte, and a flagged one ends
// with the content_filter chunk and [DONE] without the flagged text.
func TestStreamScreenChunking(t *testing.T) {
	clean := strings.Repeat("all good here. ", 100)
	bad := strings.Repeat("all good here. ", 60) + "FORBIDDEN" + strings.Repeat(" more", 50)
	for _, eol := range []string{"\n", "\r\n"} {
		for _, piece := range []int{1, 7, 64, 1 << 20} {
			t.Run(fmt.Sprintf("eol %q piece %d", eol, piece), func(t *testing.T) {
				g := newGateway(t, guardSpec("block", nil), Stages{Classifier: &wordScorer{dec: "guard", word: "FORBIDDEN"}})
				in := sseStream(clean, 50, eol)
				if out, _ := screenStream(t, g, in, piece); !bytes.Equal(out, in) {
					t.Errorf("clean stream changed:\n got %q\nwant %q", out, in)
				}
				out, sc := screenStream(t, g, sseStream(bad, 50, eol), piece)
				if !sc.Stopped() {
					t.Fatal("flagged stream not stopped")
				}
				if bytes.Contains(out, []byte("FORBIDDEN")) {
					t.Errorf("flagged text reached the client")
				}
				tail := `"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}` + "\n\ndata: [DONE]\n\n"
				if !bytes.HasSuffix(out, []byte(tail)) || !bytes.Contains(out, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":3,"model":"q",`)) {
					t.Errorf("stream ends %q", out[max(0, len(out)-200):])
				}
				// the windows scanned clean before the flagged text went out
				if !bytes.Contains(out, []byte(`"content":"all good here. all good`)) {
					t.Errorf("nothing released before the cut")
				}
			})
		}
	}
}

// TestStreamScreenHeaderVerdict: in header mode every event passes as it
// comes and the verdict comment precedes [DONE].
func TestStreamScreenHeaderVerdict(t *testing.T) {
	s := &wordScorer{dec: "guard", word: "FORBIDDEN"}
	g := newGateway(t, guardSpec("header", nil), Stages{Classifier: s})
	in := sseStream("this is FORBIDDEN text", 5, "\n")
	out, sc := screenStream(t, g, in, 13)
	done := "data: [DONE]\n\n"
	want := string(in[:len(in)-len(done)]) + ": x-vsr-response-jailbreak score=0.9000 flagged=true\n\n" + done
	if sc.Stopped() || string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if s.n != 1 {
		t.Errorf("scored %d times, want once at the end", s.n)
	}
}

func TestRefusalBody(t *testing.T) {
	got := refusalBody([]byte(`{"id":"x1","object":"chat.completion","created":5,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"bad"},"finish_reason":"stop"}],"usage":{"total_tokens":3}}`), 9, "auto", RefusalMessage)
	want := `{"id":"x1","object":"chat.completion","created":5,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		RefusalMessage + `"},"finish_reason":"content_filter"}],"usage":{"total_tokens":3}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
