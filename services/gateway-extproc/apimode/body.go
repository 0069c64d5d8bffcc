package apimode

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// defaultWriteGrace is how long after the request deadline the response may
// still be written: enough for the error event that ends a stream cut by
// the deadline, not enough for a client that stopped reading to hold the
// handler (and its upstream) forever.
const defaultWriteGrace = 5 * time.Second

// bindDeadlines ties the connection to the request deadline: the body must
// arrive before it (a client trickling its body is answered 408 instead of
// holding the handler), and writes fail s.writeGrace after it (a client
// that stops reading a stream is cut). Call the returned function once the
// body is taken: with ok it lifts the read deadline, so that net/http's
// background read, which watches for the client going away, is not cut
// short; without (the body is refused) it expires the read deadline now, so
// that net/http does not wait for the rest of a refused body before
// answering, and closes the connection after the answer instead.
func (s *Server) bindDeadlines(ctx context.Context, w http.ResponseWriter) (bodyTaken func(ok bool)) {
	dl, hasDeadline := ctx.Deadline()
	rc := http.NewResponseController(w)
	if hasDeadline {
		_ = rc.SetWriteDeadline(dl.Add(s.writeGrace))
		_ = rc.SetReadDeadline(dl)
	}
	return func(ok bool) {
		if ok {
			if hasDeadline {
				_ = rc.SetReadDeadline(time.Time{})
			}
			return
		}
		_ = rc.SetReadDeadline(time.Now())
	}
}

// readBody reads the request body, decoding a gzip Content-Encoding, up to
// limit bytes (after decoding). Every failure is a client error the caller
// sends as is: 413 over the limit, 415 for an encoding other than identity
// or gzip, 400 for a broken body, 408 when the body did not arrive before
// the request deadline.
func (s *Server) readBody(r *http.Request, limit int64) ([]byte, *chatreq.APIError) {
	if r.ContentLength > limit {
		return nil, chatreq.TooLarge(limit)
	}
	var src io.Reader = io.LimitReader(r.Body, limit+1)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, s.bodyError(r, enc, err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &chatreq.APIError{Status: http.StatusUnsupportedMediaType, Type: chatreq.TypeInvalidRequest,
			Code:    "unsupported_content_encoding",
			Message: "Content-Encoding " + strconv.Quote(enc) + " is not supported: send the body uncompressed or gzip-compressed"}
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, s.bodyError(r, enc, err)
	}
	if int64(len(body)) > limit {
		return nil, chatreq.TooLarge(limit)
	}
	return body, nil
}

// bodyError turns a body read failure into a client error without the
// transport details (addresses stay in the debug log).
func (s *Server) bodyError(r *http.Request, enc string, err error) *chatreq.APIError {
	s.log.Debug("read request body", slog.String("remote", r.RemoteAddr), slog.Any("error", err))
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &chatreq.APIError{Status: http.StatusRequestTimeout, Type: chatreq.TypeInvalidRequest, Code: "request_timeout",
			Message: "the request body did not arrive before the request deadline (listeners[].timeout)"}
	case errors.Is(err, gzip.ErrHeader), errors.Is(err, gzip.ErrChecksum), errors.As(err, new(flate.CorruptInputError)):
		return chatreq.BadRequest("", "invalid_encoding", "request body is not valid "+enc+" data")
	case errors.Is(err, io.ErrUnexpectedEOF) && (enc == "gzip" || enc == "x-gzip"):
		return chatreq.BadRequest("", "incomplete_body", "request body ended before the end of its gzip data")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return chatreq.BadRequest("", "incomplete_body", "request body ended before its declared length")
	}
	return chatreq.BadRequest("", "read_error", "the request body could not be read")
}
