package natsrpc

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
)

// responseRecorder is the in-memory http.ResponseWriter handlers write to.
type responseRecorder struct {
	header      http.Header
	sent        http.Header // header as of WriteHeader (net/http semantics)
	status      int
	wroteHeader bool
	body        *bytes.Buffer
}

var _ http.Flusher = (*responseRecorder)(nil)

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newResponseRecorder() *responseRecorder {
	b, _ := bufferPool.Get().(*bytes.Buffer)
	b.Reset()
	return &responseRecorder{header: make(http.Header), body: b}
}

// release returns the body buffer; the recorder must not be used afterwards.
func (r *responseRecorder) release() {
	if r.body.Cap() <= 4<<20 {
		bufferPool.Put(r.body)
	}
	r.body = nil
}

func (r *responseRecorder) Header() http.Header { return r.header }

func (r *responseRecorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader = true
	r.status = code
	r.sent = r.header.Clone()
}

func (r *responseRecorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(p)
}

// Flush is a no-op: the reply is sent when the handler returns.
func (r *responseRecorder) Flush() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
}

// result returns status, headers and trailers like an HTTP client would see
// them: trailers are the names declared in the "Trailer" header plus names
// set with http.TrailerPrefix.
func (r *responseRecorder) result() (status int, header, trailer http.Header) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	header = r.sent
	for _, decl := range header.Values("Trailer") {
		for _, name := range strings.Split(decl, ",") {
			name = http.CanonicalHeaderKey(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if vs, ok := r.header[name]; ok {
				if trailer == nil {
					trailer = make(http.Header)
				}
				trailer[name] = vs
			}
		}
	}
	for k, vs := range r.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			if trailer == nil {
				trailer = make(http.Header)
			}
			trailer[http.CanonicalHeaderKey(k[len(http.TrailerPrefix):])] = vs
		}
	}
	header.Del("Trailer")
	return r.status, header, trailer
}
