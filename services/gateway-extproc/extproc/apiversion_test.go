package extproc

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// versionSpec adds Azure-style models with backend_refs[].api_version.
func versionSpec() routes.Spec {
	sp := spec()
	sp.Models = append(sp.Models,
		routes.Model{Name: "azure", Backends: []routes.Backend{
			{Name: "az", BaseURL: "https://az.example.com", Weight: 1, APIKey: azureKey, AuthHeader: "api-key", APIVersion: "2024-10-21"}}},
		// Same credentials and version: Envoy may pick either backend.
		routes.Model{Name: "azure-pair", Backends: []routes.Backend{
			{Name: "east", BaseURL: "https://east.example.com", Weight: 1, APIVersion: "2024-10-21"},
			{Name: "west", BaseURL: "https://west.example.com", Weight: 1, APIVersion: "2024-10-21"}}},
		// Same credentials, different versions: the router pins the
		// backend whose version it puts on :path.
		routes.Model{Name: "azure-split", Backends: []routes.Backend{
			{Name: "old", BaseURL: "https://old.example.com", Weight: 1, APIVersion: "2024-02-01"},
			{Name: "new", BaseURL: "https://new.example.com", Weight: 1, APIVersion: "2025-03-01"}}},
	)
	return sp
}

// TestAPIVersionPathMutation plays Envoy over a real gRPC stream: a model
// whose backend has api_version gets :path rewritten with the api-version
// query (the client's own api-version replaced, its other parameters kept);
// backends that differ in api_version are pinned.
func TestAPIVersionPathMutation(t *testing.T) {
	tests := []struct {
		name       string
		model      string
		path       string
		pick       int
		wantPath   string // "" : :path not mutated
		wantPinned string
	}{
		{name: "single backend", model: "azure", path: "/v1/chat/completions", wantPath: "/v1/chat/completions?api-version=2024-10-21"},
		{name: "client query kept, client version replaced", model: "azure", path: "/v1/chat/completions?api-version=1999&trace=1",
			wantPath: "/v1/chat/completions?api-version=2024-10-21&trace=1"},
		{name: "equal versions are not pinned", model: "azure-pair", path: "/v1/chat/completions", wantPath: "/v1/chat/completions?api-version=2024-10-21"},
		{name: "different versions pin the drawn backend", model: "azure-split", path: "/v1/chat/completions", pick: 1,
			wantPath: "/v1/chat/completions?api-version=2025-03-01", wantPinned: "new"},
		{name: "different versions, first drawn", model: "azure-split", path: "/v1/chat/completions", pick: 0,
			wantPath: "/v1/chat/completions?api-version=2024-02-01", wantPinned: "old"},
		{name: "no version leaves :path", model: "small", path: "/v1/chat/completions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := startHarness(t, versionSpec(), gateway.Stages{}, nil, credOptions(tc.pick)).open(t)
			e.send(reqHeaders(false, ":method", "POST", ":path", tc.path, "content-type", "application/json"))
			resp := e.send(reqBody(`{"model":"`+tc.model+`","messages":[{"role":"user","content":"hi"}]}`, true))
			hm := resp.GetRequestBody().GetResponse().GetHeaderMutation()
			set := setHeaders(hm)
			if got, ok := set[":path"]; got != tc.wantPath || ok != (tc.wantPath != "") {
				t.Errorf(":path = %q (set %v), want %q", got, ok, tc.wantPath)
			}
			if got := set[HeaderSelectedBackend]; got != tc.wantPinned {
				t.Errorf("%s = %q, want %q", HeaderSelectedBackend, got, tc.wantPinned)
			}
		})
	}
}

// TestContextWindowSelectsModel: in ext_proc mode the model whose
// context window cannot hold the request is skipped before
// x-selected-model is set; when none fits Envoy gets an immediate 400.
func TestContextWindowSelectsModel(t *testing.T) {
	sp := spec()
	sp.Models[1].ContextWindow = 64 // large
	sp.Models[0].ContextWindow = 1000
	e := startHarness(t, sp, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard"}}}, nil, nil)
	long := strings.Repeat("word ", 100) // ~125 tokens
	s := e.open(t)
	s.send(chatHeaders())
	resp := s.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"`+long+`"}]}`, true))
	if got := setHeaders(resp.GetRequestBody().GetResponse().GetHeaderMutation())["x-selected-model"]; got != "small" {
		t.Fatalf("x-selected-model = %q, want small (large's window is too small): %v", got, resp)
	}
	s = e.open(t)
	s.send(chatHeaders())
	resp = s.send(reqBody(`{"model":"auto","max_tokens":2000,"messages":[{"role":"user","content":"`+long+`"}]}`, true))
	imm := resp.GetImmediateResponse()
	if imm == nil || imm.GetStatus().GetCode() != 400 || gjson.GetBytes(imm.GetBody(), "error.code").Str != gateway.CodeContextLengthExceeded {
		t.Fatalf("want an immediate 400 context_length_exceeded, got %v", resp)
	}
}
