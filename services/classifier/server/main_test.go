package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/server"
)

func TestMainRejectsBadInvocations(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown flag", args: []string{"--no-such-flag"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"serve"}, want: "unexpected arguments"},
		{name: "unreachable nats", args: []string{"--nats-url", "nats://127.0.0.1:1", "--http-addr", ""}, want: "connect to nats"},
		{name: "bad guard dir", args: []string{"--nats-url", "nats://127.0.0.1:1", "--guard-dir", t.TempDir()}, want: "load jailbreak model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := server.Main(context.Background(), tc.args, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Errorf("Main(%v) = %v (stderr %q), want an error containing %q", tc.args, err, stderr.String(), tc.want)
			}
		})
	}
}

func TestMetricsRecordClassifications(t *testing.T) {
	cfg, _, err := config.Parse(quickstart(t), "quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.Compile(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := classifier.NewService()
	svc.Set(c)
	m := server.NewMetrics()
	h := server.NewHandler(svc, server.HandlerOptions{Metrics: m})
	if _, err := h.Classify(context.Background(), connect.NewRequest(&classifierv1.ClassifyRequest{Facts: facts("debug this function")})); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`semrouter_classifier_requests_total{decision="coding",outcome="ok"} 1`,
		`semrouter_classifier_degraded_total{family="embedding"} 1`,
		`semrouter_classifier_degraded_total{family="domain"} 1`,
		`semrouter_classifier_duration_seconds_count 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
