package apimode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// maxScreenedBody caps the non-streaming answer the response_jailbreak
// plugin buffers to scan; a larger one passes unscanned (degraded).
const maxScreenedBody = 4 << 20

// errAnswerTooLarge: the answer is over maxScreenedBody.
var errAnswerTooLarge = errors.New("answer too large to scan")

// screen applies the response_jailbreak plugin to the chosen upstream
// answer before relay sends it. A JSON answer is read whole, scanned, and
// sent with its verdict headers (or replaced by the refusal); an SSE
// answer is screened event by event as relay reads it
// (gateway.StreamScreen).
func (s *Server) screen(ctx context.Context, x *gateway.Exchange, resp *http.Response, first []byte) (*http.Response, []byte) {
	if !x.ScreensResponse(resp.StatusCode) {
		return resp, first
	}
	if isEventStream(resp) {
		resp.Body = &screenReader{src: io.MultiReader(bytes.NewReader(first), resp.Body), body: resp.Body,
			open:  func() *gateway.StreamScreen { return x.NewStreamScreen() },
			write: func(sc *gateway.StreamScreen, p []byte) []byte { return sc.Write(ctx, p) },
			close: func(sc *gateway.StreamScreen) []byte { return sc.Close(ctx) }}
		return resp, nil
	}
	body, whole := readWhole(resp, first)
	if !whole {
		if len(body) > maxScreenedBody {
			x.ScreenSkipped(errAnswerTooLarge)
		}
		return resp, body
	}
	out, hdrs := x.ScreenBody(ctx, resp.StatusCode, body)
	for _, h := range hdrs {
		resp.Header.Set(h.Name, h.Value)
	}
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.ContentLength = int64(len(out))
	resp.Body = readCloser{bytes.NewReader(nil), resp.Body}
	return resp, out
}

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// screenReader runs the upstream SSE bytes through a StreamScreen (opened
// on the first read, after relay sent the headers).
type screenReader struct {
	src   io.Reader
	body  io.Closer
	open  func() *gateway.StreamScreen
	write func(*gateway.StreamScreen, []byte) []byte
	close func(*gateway.StreamScreen) []byte
	sc    *gateway.StreamScreen
	began bool
	out   []byte
	done  bool
	err   error
	buf   []byte
}

func (r *screenReader) Read(p []byte) (int, error) {
	if !r.began {
		r.began, r.sc = true, r.open()
		r.buf = make([]byte, 32<<10)
	}
	for len(r.out) == 0 {
		if r.done {
			return 0, r.err
		}
		n, err := r.src.Read(r.buf)
		chunk := r.buf[:n]
		if r.sc == nil {
			r.out = append(r.out, chunk...)
		} else if n > 0 {
			r.out = append(r.out, r.write(r.sc, chunk)...)
		}
		switch {
		case r.sc != nil && r.sc.Stopped():
			r.done, r.err = true, io.EOF
		case errors.Is(err, io.EOF):
			if r.sc != nil {
				r.out = append(r.out, r.close(r.sc)...)
			}
			r.done, r.err = true, io.EOF
		case err != nil:
			r.done, r.err = true, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *screenReader) Close() error { return r.body.Close() }
