package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/devllm"
)

// The router is stood in for by devllm (our development backend, not an
// LLM) wrapped to add the routing headers a router would set.
func routerStandIn(t *testing.T) string {
	t.Helper()
	backend := devllm.New(devllm.Options{Name: "router"})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-vsr-selected-decision", "coding")
		w.Header().Set("x-vsr-selected-model", "code-expert")
		if r.Header.Get("x-vsr-debug") == "true" {
			w.Header().Set("x-vsr-matched-keywords", "code_keywords")
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestChatPrintsAnswerAndRouting(t *testing.T) {
	url := routerStandIn(t)
	for _, stream := range []bool{false, true} {
		args := []string{"chat", "--url", url, "--prompt", "debug my function", "--debug"}
		if stream {
			args = append(args, "--stream")
		}
		var out, errb bytes.Buffer
		if err := Run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("stream=%v: %v\n%s", stream, err, errb.String())
		}
		s := out.String()
		for _, want := range []string{"You said: debug my function", "x-vsr-selected-decision: coding", "x-vsr-selected-model: code-expert", "x-vsr-matched-keywords: code_keywords"} {
			if !strings.Contains(s, want) {
				t.Errorf("stream=%v: output lacks %q:\n%s", stream, want, s)
			}
		}
	}
}

func TestChatReportsRouterErrors(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": `model "x" is not available`}})
	}))
	defer hs.Close()
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"chat", "--url", hs.URL, "--model", "x", "--prompt", "hi"}, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "is not available") {
		t.Fatalf("err=%v stderr=%s", err, errb.String())
	}
}

// A stream the router cuts ends with an SSE error event, or (a dropped
// connection) without "[DONE]": chat --stream must say so and fail, after
// printing what arrived.
func TestChatStreamReportsCutStreams(t *testing.T) {
	cases := []struct {
		name, body, wantErr string
	}{
		{
			name: "error event",
			body: "data: {\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}\n\n" +
				"data: {\"error\":{\"message\":\"the upstream stream was cut\",\"type\":\"server_error\",\"code\":\"upstream_stream_cut\"}}\n\n",
			wantErr: "upstream_stream_cut",
		},
		{
			name:    "no done line",
			body:    "data: {\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}\n\n",
			wantErr: "without its [DONE] line",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("content-type", "text/event-stream")
				_, _ = w.Write([]byte(tc.body))
			}))
			defer hs.Close()
			var out, errb bytes.Buffer
			err := Run(context.Background(), []string{"chat", "--url", hs.URL, "--stream", "--prompt", "hi"}, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err=%v, want one naming %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), "partial") {
				t.Fatalf("the part that arrived was not printed: %q", out.String())
			}
		})
	}
}
