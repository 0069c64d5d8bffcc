package apimode

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/anthropic"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// upstreamCall is how one attempt reaches backend b of a model: the URL
// (chat path or, for api_format anthropic, the Messages path; api-version
// query), the body, the backend whose credentials apply, and the
// translation of the answer (nil: none).
type upstreamCall struct {
	url     string
	body    []byte
	backend *routes.Backend
	// version is the anthropic-version header to set ("" : none).
	version string
	ax      *anthropic.Exchange
}

// prepareCall builds the call of body to b of m. A request an Anthropic
// model cannot take is a client error.
func prepareCall(m *routes.Model, b *routes.Backend, body []byte) (upstreamCall, *chatreq.APIError) {
	c := upstreamCall{url: routes.WithAPIVersion(backendURL(b), b.APIVersion), body: body, backend: b}
	if !m.Anthropic() {
		return c, nil
	}
	ax, err := anthropic.ConvertRequest(body, 0)
	if err != nil {
		var ae *chatreq.APIError
		if errors.As(err, &ae) {
			return c, ae
		}
		return c, chatreq.BadRequest("", "invalid_request", err.Error())
	}
	c.body, c.ax = ax.Body, ax
	c.url = routes.WithAPIVersion(messagesURL(b), b.APIVersion)
	c.backend = anthropic.CredentialBackend(b)
	c.version = anthropic.Version(b)
	return c, nil
}

// setHeaders adds what the call needs beyond the backend's credentials.
func (c *upstreamCall) setHeaders(h http.Header) {
	if c.version != "" {
		h.Set(anthropic.HeaderVersion, c.version)
	}
}

// translate turns the answer into an OpenAI one when the call was
// translated.
func (c *upstreamCall) translate(resp *http.Response, now time.Time) {
	if c.ax != nil {
		c.ax.Response(resp, now)
	}
}

// messagesURL is the Messages API URL of b: its chat_path when set, else
// {base_url}/v1/messages ({base_url}/messages when base_url already ends
// in /v1) or http(s)://{endpoint}/v1/messages.
func messagesURL(b *routes.Backend) string {
	if b.ChatPath != "" {
		return backendURL(b)
	}
	if b.BaseURL != "" {
		base := strings.TrimSuffix(b.BaseURL, "/")
		if strings.HasSuffix(base, "/v1") {
			return base + "/messages"
		}
		return base + anthropic.DefaultPath
	}
	scheme := "http"
	if strings.EqualFold(b.Protocol, "https") {
		scheme = "https"
	}
	return scheme + "://" + b.Endpoint + anthropic.DefaultPath
}
