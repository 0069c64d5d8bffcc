package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/services/config-hub/internal/api"
)

func BenchmarkRedactYAML(b *testing.B) {
	doc, err := os.ReadFile(filepath.Join("testdata", "auth.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := api.RedactYAML(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetConfig measures GET /config/router (store read, redaction,
// encoding) against a real nats-server.
func BenchmarkGetConfig(b *testing.B) {
	f := newFixture(b)
	h := f.api.Handler()
	req := httptest.NewRequest(http.MethodGet, "/config/router", nil)
	req.Header.Set("Authorization", "Bearer viewer-token")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(api.Redacted)) {
			b.Fatalf("status %d", w.Code)
		}
	}
}
