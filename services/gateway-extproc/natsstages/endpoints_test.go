package natsstages_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// decidingClassifier is a TEST DOUBLE ClassifierService that keeps the
// request and picks decision "code".
type decidingClassifier struct {
	classifierv1connect.UnimplementedClassifierServiceHandler
	got chan *classifierv1.ClassifyRequest
}

func (c decidingClassifier) Classify(_ context.Context, r *connect.Request[classifierv1.ClassifyRequest]) (*connect.Response[classifierv1.ClassifyResponse], error) {
	c.got <- r.Msg
	return connect.NewResponse(&classifierv1.ClassifyResponse{Evaluation: &classifierv1.Evaluation{
		Decision: &classifierv1.Decision{Name: "code"}}}), nil
}

// A /v1/completions prompt routed by the auto name reaches the classifier
// service over NATS as the one user message of the request facts (the
// body has no messages to read), and its decision picks the model.
func TestCompletionsPromptReachesClassifierAsUserTurn(t *testing.T) {
	nc := connectNATS(t)
	dc := decidingClassifier{got: make(chan *classifierv1.ClassifyRequest, 1)}
	path, h := classifierv1connect.NewClassifierServiceHandler(dc)
	srv, err := natsrpc.Serve(nc, path, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tbl, err := routes.Compile(routes.Spec{DefaultModel: "general", Models: []routes.Model{
		{Name: "general", Backends: []routes.Backend{{Name: "g", Endpoint: "127.0.0.1:1", Weight: 1}}},
		{Name: "coder", ProviderModelID: "coder-v2", Backends: []routes.Backend{{Name: "c", Endpoint: "127.0.0.1:2", Weight: 1}}},
	}, Decisions: []routes.Decision{{Name: "code", ModelRefs: []routes.ModelRef{{Model: "coder"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(tbl, gateway.Stages{Classifier: natsstages.NewClassifier(nc, nil)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	x := g.NewExchange()
	if kind, _ := x.RequestHeaders("POST", "/v1/completions", nil); kind != gateway.KindChat {
		t.Fatalf("kind %v", kind)
	}
	imm, fwd := x.RequestBody(context.Background(), []byte(`{"model":"auto","prompt":["def fib(n):","    "],"stream":true}`))
	if imm != nil {
		t.Fatalf("immediate %d %s", imm.Status, imm.Body)
	}
	if string(fwd.Body) != `{"model":"coder-v2","prompt":["def fib(n):","    "],"stream":true}` {
		t.Fatalf("forwarded %s", fwd.Body)
	}
	msgs := (<-dc.got).GetFacts().GetMessages()
	if len(msgs) != 1 || msgs[0].GetRole() != "user" || len(msgs[0].GetContent()) != 1 || msgs[0].GetContent()[0].GetText() != "def fib(n):\n    " {
		t.Fatalf("classifier saw %v", msgs)
	}
}
