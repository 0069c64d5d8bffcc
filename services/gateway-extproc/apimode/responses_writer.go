package apimode

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// responsesWriter sits between the chat path and a Responses client: the
// chat handler writes its answer (headers, JSON or SSE) to it as it
// would to the client, and it translates. An SSE answer is translated as
// it streams; a JSON answer is buffered and rendered by end.
type responsesWriter struct {
	rw     http.ResponseWriter
	log    *slog.Logger
	h      http.Header
	resp   *responses.Response
	newID  responses.IDFunc
	stream bool // the client asked for a stream
	status int
	// sse: the chat answer is a 2xx event stream, translated by st.
	sse bool
	st  *responses.Streamer
	buf bytes.Buffer
	err error // the client write that failed
}

func newResponsesWriter(rw http.ResponseWriter, log *slog.Logger, resp *responses.Response, stream bool, newID responses.IDFunc) *responsesWriter {
	return &responsesWriter{rw: rw, log: log, h: http.Header{}, resp: resp, stream: stream, newID: newID}
}

func (w *responsesWriter) Header() http.Header { return w.h }

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *responsesWriter) Unwrap() http.ResponseWriter { return w.rw }

func (w *responsesWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	dst := w.rw.Header()
	for k, vs := range w.h {
		switch k {
		case "Content-Length", "Content-Type", "Content-Encoding", "Etag", "Last-Modified":
			continue
		}
		dst[k] = vs
	}
	if code/100 == 2 && w.stream && strings.HasPrefix(w.h.Get("Content-Type"), "text/event-stream") {
		w.sse = true
		w.startStream()
	}
}

func (w *responsesWriter) startStream() {
	w.st = responses.NewStreamer(w.resp, w.newID)
	h := w.rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.rw.WriteHeader(w.status)
	w.send(w.st.Start())
}

func (w *responsesWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sse {
		w.buf.Write(p)
		return len(p), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	w.send(w.st.Write(p))
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush flushes a translated stream.
func (w *responsesWriter) Flush() {
	if w.sse && w.err == nil {
		_ = http.NewResponseController(w.rw).Flush()
	}
}

func (w *responsesWriter) send(b []byte) {
	if len(b) == 0 || w.err != nil {
		return
	}
	_, w.err = w.rw.Write(b)
}

// end finishes the translation once the chat handler returned: the final
// Response (nil when the answer was an error, then already relayed as a
// Responses error) and write, which sends what is left (the terminal
// events or the JSON body). The caller stores the response between the
// two, so that a client that got it can continue from it at once.
func (w *responsesWriter) end() (final *responses.Response, write func()) {
	switch {
	case w.sse:
		tail := w.st.Close(true)
		return w.st.Response(), func() { w.send(tail); w.Flush() }
	case w.status == 0:
		// Nothing was written (the handler aborted): nothing to send.
		return nil, func() {}
	case w.status/100 != 2:
		e := responses.UpstreamError(w.status, w.buf.Bytes())
		return nil, func() { w.writeJSON(e.Status, e.Body()) }
	}
	if w.stream {
		// A stream was asked for and a JSON answer came (a multi-call
		// algorithm answers whole): replay it as a stream.
		chunks, err := sse.Replay(w.buf.Bytes(), true)
		if err != nil {
			return nil, w.invalidUpstream(err)
		}
		w.sse = true
		w.startStream()
		w.send(w.st.Write(chunks))
		tail := w.st.Close(false)
		return w.st.Response(), func() { w.send(tail); w.Flush() }
	}
	if err := w.resp.CompleteFromChat(w.buf.Bytes(), w.newID); err != nil {
		return nil, w.invalidUpstream(err)
	}
	b, err := json.Marshal(w.resp)
	if err != nil {
		return nil, w.invalidUpstream(err)
	}
	return w.resp, func() { w.writeJSON(w.status, b) }
}

// invalidUpstream answers a 2xx chat answer that is no chat completion.
func (w *responsesWriter) invalidUpstream(err error) func() {
	e := &chatreq.APIError{Status: http.StatusBadGateway, Type: chatreq.TypeServer, Code: "invalid_upstream_response",
		Message: "the model server answered with an invalid chat completion"}
	w.log.Warn("responses: the chat answer is no chat completion", slog.Any("error", err))
	return func() { w.writeJSON(e.Status, e.Body()) }
}

func (w *responsesWriter) writeJSON(status int, body []byte) {
	h := w.rw.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.rw.WriteHeader(status)
	_, w.err = w.rw.Write(body)
}
