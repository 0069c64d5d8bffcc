package apimode

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// priceJSON reads a priced 2xx non-streaming answer whole (up to
// maxScreenedBody) so that its x-vsr-cost header goes out with the
// headers; the body is then relayed from first. SSE answers carry the cost
// as a comment event instead (gateway ForwardChunk), and an answer that is
// unpriced, too large or cut is relayed as it is.
func (s *Server) priceJSON(x *gateway.Exchange, resp *http.Response, first []byte) (*http.Response, []byte) {
	if !x.PricesAnswer(resp.StatusCode) || isEventStream(resp) {
		return resp, first
	}
	body, whole := readWhole(resp, first)
	if !whole {
		return resp, body // relay reads the rest or reports the cut; no header
	}
	for _, h := range x.CostHeaders(resp.StatusCode, body) {
		resp.Header.Set(h.Name, h.Value)
	}
	if resp.Header.Get("Content-Encoding") == "" || resp.Uncompressed {
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		resp.ContentLength = int64(len(body))
	}
	resp.Body = readCloser{bytes.NewReader(nil), resp.Body}
	return resp, body
}

// isEventStream reports whether resp is an SSE answer.
func isEventStream(resp *http.Response) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Type"))), "text/event-stream")
}

// readWhole reads the rest of resp's body after first, up to
// maxScreenedBody. whole is false when the body is larger (resp.Body then
// yields the rest) or the read failed (resp.Body then reports the error
// after what was read, so relay reports the cut).
func readWhole(resp *http.Response, first []byte) (body []byte, whole bool) {
	body = append([]byte(nil), first...)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return body, true
		}
		if err != nil {
			resp.Body = readCloser{errReader{err}, resp.Body}
			return body, false
		}
		if len(body) > maxScreenedBody {
			return body, false
		}
	}
}
