package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/service"
)

// configYAML routes between two models; SMALL_ADDR and BIG_ADDR are replaced by the
// development backends' host:port, BIG_ID by big's provider_model_id,
// LISTENERS by the listeners' YAML items.
const configYAML = `version: v0.3
listeners:
LISTENERS
providers:
  defaults:
    default_model: small
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
  models:
    - name: small
      provider_model_id: small-v1
      backend_refs: [{name: small-backend, endpoint: "SMALL_ADDR"}]
    - name: big
      provider_model_id: BIG_ID
      reasoning_family: qwen3
      backend_refs: [{name: big-backend, endpoint: "BIG_ADDR"}]
routing:
  signals:
    keywords:
      - {name: code, keywords: [code]}
      - {name: cacheable, keywords: [capital]}
  decisions:
    - name: coding
      priority: 20
      rules: {operator: OR, conditions: [{type: keyword, name: code}]}
      modelRefs: [{model: big, use_reasoning: true}]
    - name: facts
      priority: 10
      rules: {operator: OR, conditions: [{type: keyword, name: cacheable}]}
      modelRefs: [{model: small}]
      plugins:
        - type: response_cache
          configuration: {mode: exact_then_semantic, ttl_seconds: 600}
global:
  router:
    auto_model_names: [AUTONAMES]
`

// stack is a running gateway with its NATS server, stage doubles and
// development backends.
type stack struct {
	nc         *nats.Conn
	kv         jetstream.KeyValue
	small, big *devllm.Server
	smallAddr  string
	bigAddr    string
	emb        *embedderDouble
	cls        *classifierDouble
	cache      *cacheDouble
	clsSrv     *natsrpc.Server
	swaps      chan uint64
	apiURL     string
	arrived    chan struct{} // a request reached the big backend
	extproc    string        // ext_proc gRPC address
	cancel     context.CancelFunc
	done       chan error
}

// defaultListeners is the one listener of the stack's configs.
const defaultListeners = `  - name: api
    address: 127.0.0.1
    port: 8801
    timeout: 30s`

func (s *stack) config(bigID, autoNames string) []byte {
	return s.configWith(bigID, autoNames, defaultListeners)
}

func (s *stack) configWith(bigID, autoNames, listeners string) []byte {
	r := strings.NewReplacer("BIG_ID", bigID, "SMALL_ADDR", s.smallAddr, "BIG_ADDR", s.bigAddr, "AUTONAMES", autoNames,
		"LISTENERS", listeners)
	return []byte(r.Replace(configYAML))
}

func (s *stack) publish(t *testing.T, doc []byte) uint64 {
	t.Helper()
	rev, err := s.kv.Put(context.Background(), subjects.ConfigKey(), doc)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func (s *stack) waitSwap(t *testing.T, rev uint64) {
	t.Helper()
	for {
		select {
		case got := <-s.swaps:
			if got == rev {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("revision %d never swapped in", rev)
		}
	}
}

// backend starts a development backend; wrap, when set, wraps its handler.
func backend(t *testing.T, name string, latency time.Duration, arrived chan<- struct{}, wrap func(http.Handler) http.Handler) (*devllm.Server, string) {
	t.Helper()
	// FAKE upstream: devllm is our development backend standing in for an LLM.
	b := devllm.New(devllm.Options{Name: name, Latency: latency})
	var h http.Handler = b
	if wrap != nil {
		h = wrap(b)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			select {
			case arrived <- struct{}{}:
			default:
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return b, strings.TrimPrefix(srv.URL, "http://")
}

// serveDouble serves a generated handler (path, handler) over NATS.
func serveDouble(t *testing.T, nc *nats.Conn) func(path string, h http.Handler) *natsrpc.Server {
	return func(path string, h http.Handler) *natsrpc.Server {
		t.Helper()
		srv, err := natsrpc.Serve(nc, path, h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		return srv
	}
}

// stackOptions vary the stack: zero values give one "api" listener bound
// on a free port.
type stackOptions struct {
	bigLatency time.Duration
	// listeners replaces the first revision's listeners YAML items.
	listeners string
	// listen opens the API sockets (default: a free port whatever the
	// configured address).
	listen func(listener, addr string) (net.Listener, error)
	// onListen is also told of every bound API listener.
	onListen func(listener string, addr net.Addr)
	// wrapSmall wraps the small backend's handler.
	wrapSmall func(http.Handler) http.Handler
	// registry receives the gateway's metrics.
	registry *prometheus.Registry
	// trusted replaces the default trusted proxies (loopback).
	trusted *apimode.TrustedProxies
}

func startStack(t *testing.T, bigLatency time.Duration) *stack {
	t.Helper()
	return startStackWith(t, stackOptions{bigLatency: bigLatency})
}

func startStackWith(t *testing.T, o stackOptions) *stack {
	t.Helper()
	ns := natstest.RunServer(t)
	s := &stack{nc: natstest.Connect(t, ns), emb: &embedderDouble{}, cls: &classifierDouble{}, cache: newCacheDouble(),
		swaps: make(chan uint64, 16), done: make(chan error, 1)}
	s.arrived = make(chan struct{}, 1)
	s.small, s.smallAddr = backend(t, "small-backend", 0, nil, o.wrapSmall)
	s.big, s.bigAddr = backend(t, "big-backend", o.bigLatency, s.arrived, nil)
	serveDouble(t, s.nc)(embeddingv1connect.NewEmbeddingServiceHandler(s.emb))
	s.clsSrv = serveDouble(t, s.nc)(classifierv1connect.NewClassifierServiceHandler(s.cls))
	serveDouble(t, s.nc)(cachev1connect.NewCacheServiceHandler(s.cache))

	js, err := jetstream.New(s.nc)
	if err != nil {
		t.Fatal(err)
	}
	if s.kv, err = js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: subjects.ConfigBucket(), History: 8}); err != nil {
		t.Fatal(err)
	}
	listeners := o.listeners
	if listeners == "" {
		listeners = defaultListeners
	}
	s.waitFirst(t, s.publish(t, s.configWith("big-v1", "auto", listeners)), o)
	return s
}

// waitFirst starts the gateway (its own NATS connection, as a separate
// process would have) and waits until API mode listens on revision rev.
func (s *stack) waitFirst(t *testing.T, rev uint64, o stackOptions) {
	t.Helper()
	nc, err := nats.Connect(s.nc.ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	listening := make(chan string, 1)
	var once sync.Once
	ep := mustListen(t)
	s.extproc = ep.Addr().String()
	listen := o.listen
	if listen == nil {
		listen = func(string, string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
	}
	opts := service.Options{
		NATS: nc, APIMode: true, Instance: "test", Logger: slog.New(slog.DiscardHandler),
		ExtProcListener: ep,
		StageTimeout:    5 * time.Second, // generous: the race detector slows the NATS round trips
		DrainTimeout:    10 * time.Second,
		APIListen:       listen,
		OnAPIListen: func(name string, a net.Addr) {
			once.Do(func() { listening <- "http://" + a.String() + "/v1" })
			if o.onListen != nil {
				o.onListen(name, a)
			}
		},
		OnSwap: func(r uint64) { s.swaps <- r },
	}
	if o.registry != nil {
		opts.Registerer = o.registry
	}
	opts.TrustedProxies = o.trusted
	go func() { s.done <- service.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	s.waitSwap(t, rev)
	select {
	case s.apiURL = <-listening:
	case err := <-s.done:
		t.Fatalf("gateway stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("api mode never listened")
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// ask sends one chat completion with the OpenAI SDK and returns the
// completion and the HTTP response (for the x-vsr-* headers).
func (s *stack) ask(t *testing.T, model, text string, opts ...option.RequestOption) (*openai.ChatCompletion, *http.Response) {
	t.Helper()
	var resp *http.Response
	client := openai.NewClient(option.WithBaseURL(s.apiURL), option.WithAPIKey("test"), option.WithMaxRetries(0))
	c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
	}, append(opts, option.WithResponseInto(&resp))...)
	if err != nil {
		t.Fatalf("chat completion: %v", err)
	}
	return c, resp
}

func lastBody(t *testing.T, b *devllm.Server) map[string]any {
	t.Helper()
	got := b.Received()
	if len(got) == 0 {
		t.Fatal("backend received nothing")
	}
	return got[len(got)-1].Body
}

func TestRoutesByClassifierDecision(t *testing.T) {
	s := startStack(t, 0)
	c, resp := s.ask(t, "auto", "please write code for a parser", option.WithHeader("x-authz-user-id", "alice"),
		option.WithHeader("x-authz-user-groups", "eng, admins"))
	if h := resp.Header; h.Get("x-vsr-selected-decision") != "coding" || h.Get("x-vsr-selected-model") != "big" ||
		h.Get("x-vsr-selected-reasoning") != "on" || h.Get("x-vsr-degraded") != "" {
		t.Fatalf("headers %v", h)
	}
	if !strings.Contains(c.Choices[0].Message.Content, "[big-backend/big-v1]") {
		t.Fatalf("answer %q", c.Choices[0].Message.Content)
	}
	body := lastBody(t, s.big)
	if body["model"] != "big-v1" {
		t.Fatalf("upstream model %v", body["model"])
	}
	if kw, _ := body["chat_template_kwargs"].(map[string]any); kw["enable_thinking"] != true {
		t.Fatalf("reasoning not switched on: %v", body)
	}
	if len(s.small.Received()) != 0 {
		t.Fatal("small backend got the coding request")
	}
	req := s.cls.last()
	if req.GetConfigRevision() != 1 {
		t.Fatalf("config revision %d", req.GetConfigRevision())
	}
	f := req.GetFacts()
	if f.GetRequestedModel() != "auto" || f.GetIdentity().GetUser() != "alice" ||
		strings.Join(f.GetIdentity().GetGroups(), "|") != "eng|admins" || f.GetMessages()[0].GetContent()[0].GetText() != "please write code for a parser" {
		t.Fatalf("facts %v", f)
	}
	// The query embedding travels under the embedding model's name.
	if v := req.GetQueryEmbeddings()[doubleEmbedModel]; len(v.GetValues()) != 4 {
		t.Fatalf("query embeddings %v", req.GetQueryEmbeddings())
	}
}

func TestConfigHotReload(t *testing.T) {
	s := startStack(t, 0)
	client := openai.NewClient(option.WithBaseURL(s.apiURL), option.WithAPIKey("test"), option.WithMaxRetries(0))
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "smart", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("write code")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model before the reload: %v", err)
	}

	statuses, err := s.nc.SubscribeSync(subjects.ConfigStatus(service.ServiceName, "test"))
	if err != nil {
		t.Fatal(err)
	}
	rev := s.publish(t, s.config("big-v2", "auto, smart"))
	s.waitSwap(t, rev)
	c, resp := s.ask(t, "smart", "write code")
	if resp.Header.Get("x-vsr-selected-model") != "big" || lastBody(t, s.big)["model"] != "big-v2" {
		t.Fatalf("after reload: %v %v", resp.Header, lastBody(t, s.big))
	}
	if !strings.Contains(c.Choices[0].Message.Content, "big-v2") {
		t.Fatalf("answer %q", c.Choices[0].Message.Content)
	}

	// A revision that does not compile is rejected; the previous one keeps serving.
	bad := s.publish(t, []byte("version: v0.3\nproviders:\n  defaults:\n    default_model: ghost\n"))
	for {
		msg, err := statuses.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no status for the bad revision: %v", err)
		}
		var st configwatch.Status
		if err := json.Unmarshal(msg.Data, &st); err != nil {
			t.Fatal(err)
		}
		if st.Revision != bad {
			continue
		}
		if st.Accepted || st.Serving != rev || st.Error == "" {
			t.Fatalf("bad revision status %+v", st)
		}
		break
	}
	if _, resp := s.ask(t, "smart", "write code"); resp.Header.Get("x-vsr-selected-model") != "big" {
		t.Fatalf("stopped serving the good revision: %v", resp.Header)
	}
}

func TestClassifierDownDegrades(t *testing.T) {
	s := startStack(t, 0)
	s.clsSrv.Close() // nobody answers the classifier subject any more
	c, resp := s.ask(t, "auto", "write code please")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("x-vsr-degraded") != "classifier" ||
		resp.Header.Get("x-vsr-selected-model") != "small" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(c.Choices[0].Message.Content, "[small-backend/small-v1]") {
		t.Fatalf("answer %q", c.Choices[0].Message.Content)
	}
}

func TestCacheHitAfterStore(t *testing.T) {
	s := startStack(t, 0)
	const q = "What is the capital of France?"
	first, resp := s.ask(t, "auto", q)
	if resp.Header.Get("x-vsr-cache-hit") != "" || resp.Header.Get("x-vsr-selected-decision") != "facts" {
		t.Fatalf("first answer headers %v", resp.Header)
	}
	var stored *cachev1.StoreRequest
	select {
	case e := <-s.cache.stored:
		p := e.GetPartition()
		if p.GetDecision() != "facts" || p.GetModel() != "small" || e.GetTtl().AsDuration() != 10*time.Minute ||
			len(e.GetQueryEmbedding().GetValues()) != 4 || e.GetEmbeddingModel() != doubleEmbedModel || e.GetQueryText() != q {
			t.Fatalf("stored %v", e)
		}
		stored = e
	case <-time.After(10 * time.Second):
		t.Fatal("nothing stored")
	}
	second, resp := s.ask(t, "auto", q)
	if resp.Header.Get("x-vsr-cache-hit") != "true" || resp.Header.Get("x-vsr-response-path") != "cache" {
		t.Fatalf("second answer headers %v", resp.Header)
	}
	if second.Choices[0].Message.Content != first.Choices[0].Message.Content {
		t.Fatalf("cached %q, first %q", second.Choices[0].Message.Content, first.Choices[0].Message.Content)
	}
	if n := len(s.small.Received()); n != 1 {
		t.Fatalf("upstream called %d times", n)
	}
	s.cache.mu.Lock()
	lookups := append([]*cachev1.LookupRequest(nil), s.cache.lookups...)
	s.cache.mu.Unlock()
	// One speculative lookup per request (made while the classifier ran),
	// covering the partition the stored answer is in: no second lookup.
	if len(lookups) != 2 {
		t.Fatalf("%d lookups for 2 requests", len(lookups))
	}
	last := lookups[1]
	if last.GetExactFingerprint() != stored.GetExactFingerprint() || last.GetContextFingerprint() == "" ||
		!slices.ContainsFunc(last.GetAlternatives(), func(p *cachev1.Partition) bool { return proto.Equal(p, stored.GetPartition()) }) {
		t.Fatalf("lookup %v", last)
	}
}

func TestLatencyPublished(t *testing.T) {
	s := startStack(t, 0)
	sub, err := s.nc.SubscribeSync(subjects.Latency("big"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	s.ask(t, "auto", "review this code")
	msg, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no latency observation: %v", err)
	}
	var obs classifierv1.LatencyObservation
	if err := proto.Unmarshal(msg.Data, &obs); err != nil {
		t.Fatal(err)
	}
	if obs.GetModel() != "big" || obs.GetDecision() != "coding" || obs.GetStatusCode() != 200 ||
		obs.GetTotal().AsDuration() <= 0 || obs.GetUsage().GetCompletionTokens() == 0 {
		t.Fatalf("observation %v", &obs)
	}
}

func TestShutdownDrainsInFlight(t *testing.T) {
	s := startStack(t, 300*time.Millisecond)
	type result struct {
		c   *openai.ChatCompletion
		err error
	}
	res := make(chan result, 1)
	go func() {
		client := openai.NewClient(option.WithBaseURL(s.apiURL), option.WithAPIKey("test"), option.WithMaxRetries(0))
		c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("slow code")}})
		res <- result{c, err}
	}()
	// Wait until the request is upstream, then stop the gateway.
	select {
	case <-s.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the backend")
	}
	s.cancel()
	r := <-res
	if r.err != nil || !strings.Contains(r.c.Choices[0].Message.Content, "slow code") {
		t.Fatalf("in-flight request: %v", r.err)
	}
	if err := <-s.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	s.done <- nil // for the cleanup
}

func TestExtProcRoutes(t *testing.T) {
	s := startStack(t, 0)
	conn, err := grpc.NewClient(s.extproc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := extprocv3.NewExternalProcessorClient(conn).Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hdrs := &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":method", RawValue: []byte("POST")}, {Key: ":path", RawValue: []byte("/v1/chat/completions")}}}
	if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: hdrs}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	body := `{"model":"auto","messages":[{"role":"user","content":"fix my code"}]}`
	if err := stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	common := resp.GetRequestBody().GetResponse()
	selected := ""
	for _, h := range common.GetHeaderMutation().GetSetHeaders() {
		if h.GetHeader().GetKey() == "x-selected-model" {
			selected = string(h.GetHeader().GetRawValue())
		}
	}
	if selected != "big" || !common.GetClearRouteCache() || !strings.Contains(string(common.GetBodyMutation().GetBody()), `"big-v1"`) {
		t.Fatalf("request body response %v", resp)
	}
	_ = stream.CloseSend()
}
