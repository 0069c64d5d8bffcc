package server_test

import (
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
)

// TestHTTPConnectBodyLimit: the Connect handler on --http-addr (no
// authentication, every interface by default) refuses an oversized
// request instead of buffering it whole.
func TestHTTPConnectBodyLimit(t *testing.T) {
	e := start(t, quickstart(t), nil)
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	client := classifierv1connect.NewClassifierServiceClient(&http.Client{Transport: tr}, e.httpURL)
	cases := []struct {
		name string
		size int
		want connect.Code
	}{
		{name: "small prompt", size: 64, want: 0},
		{name: "above the limit", size: 17 << 20, want: connect.CodeResourceExhausted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.Classify(t.Context(), connect.NewRequest(&classifierv1.ClassifyRequest{Facts: facts(strings.Repeat("a ", c.size/2))}))
			if got := connect.CodeOf(err); (err == nil && c.want != 0) || (err != nil && got != c.want) {
				t.Fatalf("Classify with a %d-byte prompt: %v, want code %v", c.size, err, c.want)
			}
		})
	}
}
