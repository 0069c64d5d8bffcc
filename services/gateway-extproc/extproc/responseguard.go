package extproc

import (
	"bytes"
	"context"
	"errors"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// maxScreenedBody caps the JSON answer gathered for the response_jailbreak
// plugin; a larger one passes unscanned (degraded).
const maxScreenedBody = 4 << 20

var errAnswerTooLarge = errors.New("answer too large to scan")

// respGuard is the response_jailbreak plugin in ext_proc mode. A JSON
// answer is held back chunk by chunk and screened whole at its end (the
// verdict headers go in that body response's header mutation, which
// Envoy applies in BUFFERED mode, the mode config-hub sets for JSON); an
// SSE answer (STREAMED) goes through a gateway.StreamScreen chunk by
// chunk.
type respGuard struct {
	status int
	sc     *gateway.StreamScreen
	buf    []byte
	gave   bool // a too large answer was given back unscanned
}

// startGuard decides, once the response headers are known, whether the
// plugin screens this answer. It reports whether content-length must be
// removed (a JSON answer may be replaced by one of another length).
func (st *stream) startGuard(code int) bool {
	if !st.x.ScreensResponse(code) {
		return false
	}
	if st.x.StreamingResponse() {
		if sc := st.x.NewStreamScreen(); sc != nil {
			st.rg = &respGuard{status: code, sc: sc}
		}
		return false
	}
	st.rg = &respGuard{status: code}
	return true
}

// guardBody screens one response body chunk: it returns the bytes to pass
// on in its place, the headers to set, and whether the chunk is replaced.
func (st *stream) guardBody(ctx context.Context, in []byte, end bool) ([]byte, []gateway.Header, bool) {
	g := st.rg
	if g == nil || g.gave {
		return in, nil, false
	}
	if g.sc != nil {
		out := g.sc.Write(ctx, in)
		if end {
			out = append(bytes.Clone(out), g.sc.Close(ctx)...)
		}
		return out, nil, true
	}
	g.buf = append(g.buf, in...)
	if len(g.buf) > maxScreenedBody {
		st.x.ScreenSkipped(errAnswerTooLarge)
		g.gave = true
		out := g.buf
		g.buf = nil
		return out, nil, true
	}
	if !end {
		return []byte{}, nil, true
	}
	out, h := st.x.ScreenBody(ctx, g.status, g.buf)
	g.buf = nil
	return out, h, true
}

func headerMutation(hs []gateway.Header) *extprocv3.HeaderMutation {
	hm := &extprocv3.HeaderMutation{}
	for _, h := range hs {
		hm.SetHeaders = append(hm.SetHeaders, headerOption(h.Name, h.Value))
	}
	return hm
}
