// Package imagegentest gives tests a FAKE image generation backend: no
// image model can run here, so a real HTTP server speaks the OpenAI Images
// API shape (POST …/v1/images/generations), records each request and
// answers a small real PNG (encoded with image/png) as b64_json, a URL,
// or a configured error.
package imagegentest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// PNG encodes a real w×h PNG (a gradient) with image/png.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Call is one request the backend got.
type Call struct {
	Method, Path, Authorization string
	Body                        map[string]any
}

// Backend is the FAKE image backend. The zero configuration answers the
// PNG as b64_json.
type Backend struct {
	*httptest.Server
	// Image is the PNG it answers (16×12).
	Image []byte

	mu       sync.Mutex
	calls    []Call
	status   int
	errBody  string
	asURL    bool
	usage    bool
	revised  string
	blocking chan struct{}
}

// New starts a backend, closed when the test ends.
func New(t testing.TB) *Backend {
	t.Helper()
	b := &Backend{Image: PNG(t, 16, 12)}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

// Fail makes it answer status with body, as is (status 0: answer images
// again; 200 with a body of your own tests unusable answers).
func (b *Backend) Fail(status int, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status, b.errBody = status, body
}

// AnswerURL makes it answer {"url": URL} instead of b64_json.
func (b *Backend) AnswerURL() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asURL = true
}

// URL is what AnswerURL answers.
const URL = "https://images.example/generated/abc.png"

// WithUsage adds a gpt-image usage block (12 input, 4160 output tokens)
// and a revised_prompt.
func (b *Backend) WithUsage(revised string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.usage, b.revised = true, revised
}

// Hold makes requests wait until release is called (or the client gives
// up): a backend slower than the plugin's time bound.
func (b *Backend) Hold() (release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan struct{})
	b.blocking = ch
	return sync.OnceFunc(func() { close(ch) })
}

// Calls returns the requests so far.
func (b *Backend) Calls() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Call(nil), b.calls...)
}

// Last returns the last request, failing the test when there is none.
func (b *Backend) Last(t testing.TB) Call {
	t.Helper()
	c := b.Calls()
	if len(c) == 0 {
		t.Fatal("the fake image backend got no request")
	}
	return c[len(c)-1]
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	b.mu.Lock()
	b.calls = append(b.calls, Call{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), Body: body})
	status, errBody, asURL, usage, revised, hold := b.status, b.errBody, b.asURL, b.usage, b.revised, b.blocking
	b.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, errBody)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/images/generations" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":{"message":"fake image backend serves POST /v1/images/generations only"}}`)
		return
	}
	item := map[string]any{}
	if asURL {
		item["url"] = URL
	} else {
		item["b64_json"] = base64.StdEncoding.EncodeToString(b.Image)
	}
	if revised != "" {
		item["revised_prompt"] = revised
	}
	out := map[string]any{"created": 1700000000, "data": []any{item}}
	if usage {
		out["usage"] = map[string]any{"input_tokens": 12, "output_tokens": 4160, "total_tokens": 4172}
	}
	_ = json.NewEncoder(w).Encode(out)
}
