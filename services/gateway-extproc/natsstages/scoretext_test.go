package natsstages_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
)

// scoringDouble is a TEST DOUBLE ClassifierService (the real one, with
// the jailbreak model, is tested in services/classifier TestScoreText):
// ScoreText answers the text's length / 100, or fails with code.
type scoringDouble struct {
	classifierv1connect.UnimplementedClassifierServiceHandler
	code connect.Code
	got  chan string
}

func (d scoringDouble) ScoreText(_ context.Context, r *connect.Request[classifierv1.ScoreTextRequest]) (*connect.Response[classifierv1.ScoreTextResponse], error) {
	d.got <- r.Msg.GetText()
	if d.code != 0 {
		return nil, connect.NewError(d.code, errors.New("double says no"))
	}
	return connect.NewResponse(&classifierv1.ScoreTextResponse{JailbreakScore: float64(len(r.Msg.GetText())) / 100}), nil
}

// TestScoreTextOverNATS: the gateway's ResponseScorer reaches
// ClassifierService/ScoreText over a real NATS server; failures map to
// the stage sentinels (the gateway then degrades).
func TestScoreTextOverNATS(t *testing.T) {
	cases := []struct {
		name    string
		code    connect.Code
		text    string
		want    float64
		wantErr error
	}{
		{"score", 0, "twelve bytes", 0.12, nil},
		{"invalid utf-8 is replaced", 0, "ab\xff", 0.05, nil},
		{"unavailable", connect.CodeUnavailable, "x", 0, gateway.ErrStageUnavailable},
		{"no model", connect.CodeFailedPrecondition, "x", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc := connectNATS(t)
			d := scoringDouble{code: tc.code, got: make(chan string, 1)}
			path, h := classifierv1connect.NewClassifierServiceHandler(d)
			srv, err := natsrpc.Serve(nc, path, h)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := natsstages.NewClassifier(nc, nil).ScoreText(ctx, tc.text)
			switch {
			case tc.code == 0 && (err != nil || got != tc.want):
				t.Fatalf("score %v err %v, want %v", got, err, tc.want)
			case tc.code != 0 && err == nil:
				t.Fatalf("no error for %v", tc.code)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if sent := <-d.got; tc.code == 0 && len(sent) != int(tc.want*100) {
				t.Errorf("sent %q", sent)
			}
		})
	}
	// nobody serves the classifier: unavailable at once
	nc := connectNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := natsstages.NewClassifier(nc, nil).ScoreText(ctx, "x"); !errors.Is(err, gateway.ErrStageUnavailable) {
		t.Fatalf("no responders: %v", err)
	}
}
