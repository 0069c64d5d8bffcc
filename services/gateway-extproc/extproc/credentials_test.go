package extproc

import (
	"bytes"
	"slices"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// Secrets of the credential tests: none may appear anywhere but in the
// request-body mutation of a request routed to its own backend.
const (
	hostedKey = "sk-hosted-secret"
	azureKey  = "sk-azure-secret"
	envKey    = "sk-from-env-secret"
)

// credSpec adds hosted models with credentials to spec(): "small" and
// "large" have none.
func credSpec() routes.Spec {
	sp := spec()
	sp.Models = append(sp.Models,
		routes.Model{Name: "hosted", Backends: []routes.Backend{
			{Name: "openai", BaseURL: "https://api.example.com/v1", Weight: 1, APIKey: hostedKey},
			{Name: "openai-2", BaseURL: "https://api2.example.com/v1", Weight: 3, APIKey: hostedKey}}},
		routes.Model{Name: "azure", Backends: []routes.Backend{
			{Name: "az", BaseURL: "https://az.example.com", Weight: 1, APIKey: azureKey, AuthHeader: "api-key",
				ExtraHeaders: map[string]string{"OpenAI-Organization": "org-1", "Authorization": "Basic never-sent"}}}},
		routes.Model{Name: "env", Backends: []routes.Backend{
			{Name: "e", BaseURL: "https://env.example.com", Weight: 1, APIKeyEnv: "TEST_EXTPROC_KEY", APIKey: "sk-fallback"}}},
		routes.Model{Name: "tenant", Backends: []routes.Backend{
			{Name: "t", Endpoint: "tenant:8000", Weight: 1, ExtraHeaders: map[string]string{"X-Tenant": "blue"}}}},
		// Two providers with different keys: the router must pick the
		// backend and tell Envoy which one.
		routes.Model{Name: "split", Backends: []routes.Backend{
			{Name: "p1", BaseURL: "https://p1.example.com", Weight: 1, APIKey: hostedKey},
			{Name: "p2", BaseURL: "https://p2.example.com", Weight: 3, APIKey: azureKey, AuthHeader: "x-api-key", AuthPrefix: "Key"},
			{Name: "local", Endpoint: "local:8000", Weight: 1}}},
	)
	sp.Decisions = append(sp.Decisions,
		routes.Decision{Name: "to-hosted", ModelRefs: []routes.ModelRef{{Model: "hosted"}},
			Plugins: routes.Plugins{HeaderMutation: &routes.HeaderMutationPlugin{
				Add:    []routes.Header{{Name: "Authorization", Value: "Bearer plugin-value"}, {Name: "X-Plugin", Value: "p"}},
				Delete: []string{"X-Debug-Trace"}}}},
		routes.Decision{Name: "cached-hosted", ModelRefs: []routes.ModelRef{{Model: "hosted"}},
			Plugins: routes.Plugins{ResponseCache: &routes.ResponseCachePlugin{Enabled: true, SimilarityThreshold: 0.8}}},
		routes.Decision{Name: "fast-hosted", ModelRefs: []routes.ModelRef{{Model: "hosted"}},
			Plugins: routes.Plugins{FastResponse: &routes.FastResponsePlugin{Message: "quick"}}},
	)
	return sp
}

func credOptions(pick int) []Option {
	return []Option{
		WithEnv(func(name string) string {
			if name == "TEST_EXTPROC_KEY" {
				return envKey
			}
			return ""
		}),
		WithRandom(func(n int) int { return pick % n }),
	}
}

// TestCredentialsOnForwardedRequests plays Envoy over a real gRPC stream:
// once the body is routed, the request-body response sets the selected
// backend's credential header and extra headers and removes the client's
// Authorization when the backend has a key; a backend without a key keeps
// the client's header untouched.
func TestCredentialsOnForwardedRequests(t *testing.T) {
	cases := []struct {
		name       string
		decision   string // the FAKE classifier's decision for model "auto"
		model      string
		pick       int // WithRandom's draw
		wantSet    map[string]string
		wantAbsent []string // headers that must not be set
		wantRemove []string
	}{
		{name: "backend with key replaces the client's authorization", model: "hosted",
			wantSet:    map[string]string{"authorization": "Bearer " + hostedKey, "x-selected-model": "hosted"},
			wantAbsent: []string{HeaderSelectedBackend}},
		{name: "backend without key keeps the client's header", model: "small",
			wantAbsent: []string{"authorization", HeaderSelectedBackend}},
		{name: "routed to a backend without key", decision: "hard", model: "auto",
			wantSet: map[string]string{"x-selected-model": "large", "x-tier": "gold"}, wantAbsent: []string{"authorization"},
			wantRemove: []string{"x-debug-trace"}},
		{name: "custom header, extra headers, client authorization removed", model: "azure",
			wantSet:    map[string]string{"api-key": azureKey, "openai-organization": "org-1"},
			wantAbsent: []string{"authorization"}, wantRemove: []string{"authorization"}},
		{name: "key from api_key_env", model: "env",
			wantSet: map[string]string{"authorization": "Bearer " + envKey}},
		{name: "extra headers without key", model: "tenant",
			wantSet: map[string]string{"x-tenant": "blue"}, wantAbsent: []string{"authorization"}},
		{name: "key wins over the header_mutation plugin", decision: "to-hosted", model: "auto",
			wantSet:    map[string]string{"authorization": "Bearer " + hostedKey, "x-plugin": "p", "x-selected-model": "hosted"},
			wantRemove: []string{"x-debug-trace"}},
		{name: "backends with different keys: first drawn", model: "split", pick: 0,
			wantSet: map[string]string{"authorization": "Bearer " + hostedKey, HeaderSelectedBackend: "p1"}},
		{name: "backends with different keys: weighted draw", model: "split", pick: 3,
			wantSet:    map[string]string{"x-api-key": "Key " + azureKey, HeaderSelectedBackend: "p2"},
			wantAbsent: []string{"authorization"}, wantRemove: []string{"authorization"}},
		{name: "backends with different keys: the one without key", model: "split", pick: 4,
			wantSet: map[string]string{HeaderSelectedBackend: "local"}, wantAbsent: []string{"authorization", "x-api-key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := gateway.Stages{}
			if tc.decision != "" {
				st.Classifier = fakeClassifier{&gateway.Decision{Name: tc.decision}}
			}
			e := startHarness(t, credSpec(), st, nil, credOptions(tc.pick)).open(t)
			e.send(chatHeaders("authorization", "Bearer client-token", "x-debug-trace", "1"))
			resp := e.send(reqBody(`{"model":"`+tc.model+`","messages":[{"role":"user","content":"hi"}]}`, true))
			hm := resp.GetRequestBody().GetResponse().GetHeaderMutation()
			if hm == nil {
				t.Fatalf("no request header mutation: %v", resp)
			}
			set := setHeaders(hm)
			for k, v := range tc.wantSet {
				if set[k] != v {
					t.Errorf("set %s = %q, want %q", k, set[k], v)
				}
			}
			for _, k := range tc.wantAbsent {
				if v, ok := set[k]; ok {
					t.Errorf("%s set to %q", k, v)
				}
			}
			rm := slices.Clone(hm.GetRemoveHeaders())
			slices.Sort(rm)
			want := slices.Clone(tc.wantRemove)
			if _, pinned := tc.wantSet[HeaderSelectedBackend]; !pinned {
				// Only the router pins a backend: a client's copy goes.
				want = append(want, HeaderSelectedBackend)
			}
			slices.Sort(want)
			if !slices.Equal(rm, want) {
				t.Errorf("removed %q, want %q", rm, want)
			}
			for _, h := range hm.GetSetHeaders() {
				if slices.Contains(hm.GetRemoveHeaders(), h.GetHeader().GetKey()) {
					t.Errorf("%s both set and removed", h.GetHeader().GetKey())
				}
			}
			if _, ok := set["openai-organization"]; ok && tc.model != "azure" {
				t.Error("another backend's extra header was sent")
			}
		})
	}
}

// TestImmediateResponsesCarryNoCredentials: a cache hit, a fast response
// and a guardrail block for a decision routed to a keyed backend answer
// Envoy with an immediate response; the key appears nowhere in it.
func TestImmediateResponsesCarryNoCredentials(t *testing.T) {
	cached := `{"id":"c","object":"chat.completion","created":1,"model":"hosted","choices":[{"index":0,"message":{"role":"assistant","content":"from cache"},"finish_reason":"stop"}]}`
	cases := []struct {
		name   string
		stages gateway.Stages
		status int32
	}{
		{name: "cache hit", stages: gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "cached-hosted"}},
			Cache: &fakeCache{hits: []gateway.CachedResponse{{Decision: "cached-hosted", Similarity: 0.95, Body: []byte(cached)}}}}, status: 200},
		{name: "fast response", stages: gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "fast-hosted"}}}, status: 200},
		{name: "blocked", stages: gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "to-hosted",
			Block: &gateway.Block{Message: "jailbreak detected", Signal: "jailbreak"}}}}, status: 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startHarness(t, credSpec(), tc.stages, nil, credOptions(0)).open(t)
			e.send(chatHeaders("authorization", "Bearer client-token"))
			resp := e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`, true))
			imm := resp.GetImmediateResponse()
			if imm == nil || int32(imm.GetStatus().GetCode()) != tc.status {
				t.Fatalf("want an immediate %d, got %v", tc.status, resp)
			}
			assertNoSecret(t, resp)
			if _, ok := setHeaders(imm.GetHeaders())["authorization"]; ok {
				t.Fatal("immediate response sets authorization")
			}
		})
	}
}

// assertNoSecret fails when any credential test key is in msg's encoding.
func assertNoSecret(t *testing.T, msg *extprocv3.ProcessingResponse) {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{hostedKey, azureKey, envKey} {
		if bytes.Contains(b, []byte(k)) {
			t.Fatalf("response carries a backend key: %v", msg)
		}
	}
}
