package rag

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/tidwall/gjson"
)

// HTTPDoer sends HTTP requests (*http.Client satisfies it).
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

var _ HTTPDoer = (*http.Client)(nil)

// DefaultExternalTimeout bounds one external_api call when
// backend_config.timeout_seconds is 0 (the request's stage deadline
// applies as well).
const DefaultExternalTimeout = 10 * time.Second

// maxResponseBytes bounds what is read of a search response.
const maxResponseBytes = 8 << 20

// ExternalAPI searches an HTTP service. backend_config keys:
//
//	endpoint          http(s) URL (required)
//	method            POST (default) or GET
//	request_format    "" / json: POST body {"query":…,"top_k":…,"threshold":…};
//	                  custom: request_template renders the POST body
//	request_template  Go text/template; .Query is the query escaped for use
//	                  inside a JSON string literal, .QueryJSON the quoted JSON
//	                  string, .RawQuery the text as is, .TopK, .Threshold
//	content_type      of the POST body (default application/json)
//	api_key           sent in auth_header (never logged)
//	auth_header       default Authorization, as "Bearer <api_key>"; any
//	                  other header carries the key as is
//	headers           extra request headers
//	timeout_seconds   per call (default 10)
//	results_field     gjson path of the result array; default: the body
//	                  itself when it is an array, else the first array of
//	                  results, documents, data, matches, hits
//	content_field     passage text (default content, then text)
//	score_field       similarity in [0,1] (default score); a result
//	                  without one counts as 1
//	metadata_field    default metadata
//
// GET sends query, top_k and threshold as URL parameters.
type ExternalAPI struct {
	http        HTTPDoer
	endpoint    *url.URL
	method      string
	tmpl        *template.Template
	tmplSrc     string
	contentType string
	authHeader  string
	authValue   string
	headers     [][2]string
	timeout     time.Duration
	results     string
	content     []string
	score       string
	metadata    string
}

// NewExternalAPI reads backend_config. doer nil: a new *http.Client.
func NewExternalAPI(bc map[string]any, doer HTTPDoer) (*ExternalAPI, error) {
	if doer == nil {
		doer = &http.Client{}
	}
	e := &ExternalAPI{http: doer, method: http.MethodPost, contentType: "application/json",
		timeout: DefaultExternalTimeout, content: []string{"content", "text"}, score: "score", metadata: "metadata"}
	var errs []error
	str := func(k string) string {
		v, ok := bc[k]
		if !ok || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: expected a string, got %T", k, v))
		}
		return strings.TrimSpace(s)
	}
	ep := str("endpoint")
	if ep == "" {
		errs = append(errs, errors.New("endpoint: required for backend external_api"))
	} else if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint: %q is not an http(s) URL", ep))
	} else {
		e.endpoint = u
	}
	switch m := strings.ToUpper(str("method")); m {
	case "", http.MethodPost:
	case http.MethodGet:
		e.method = m
	default:
		errs = append(errs, fmt.Errorf("method: %q is not GET or POST", m))
	}
	switch f := str("request_format"); f {
	case "", "json", "default":
	case "custom":
		e.tmplSrc = str("request_template")
		if e.tmplSrc == "" {
			errs = append(errs, errors.New("request_template: required when request_format is custom"))
			break
		}
		t, err := ParseTemplate(e.tmplSrc)
		if err != nil {
			errs = append(errs, fmt.Errorf("request_template: %w", err))
		}
		e.tmpl = t
	default:
		errs = append(errs, fmt.Errorf("request_format: %q is not json or custom", f))
	}
	if ct := str("content_type"); ct != "" {
		e.contentType = ct
	}
	if key := str("api_key"); key != "" {
		e.authHeader = str("auth_header")
		e.authValue = key
		if e.authHeader == "" || strings.EqualFold(e.authHeader, "Authorization") {
			e.authHeader, e.authValue = "Authorization", "Bearer "+key
		}
	}
	if h, ok := bc["headers"]; ok && h != nil {
		m, ok := h.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("headers: expected a mapping, got %T", h))
		}
		for k, v := range m {
			e.headers = append(e.headers, [2]string{k, fmt.Sprint(v)})
		}
	}
	if v, ok := bc["timeout_seconds"]; ok && v != nil {
		switch n := v.(type) {
		case int:
			if n > 0 {
				e.timeout = time.Duration(n) * time.Second
			}
		case float64:
			if n > 0 {
				e.timeout = time.Duration(n * float64(time.Second))
			}
		default:
			errs = append(errs, fmt.Errorf("timeout_seconds: expected a number, got %T", v))
		}
	}
	e.results = str("results_field")
	if c := str("content_field"); c != "" {
		e.content = []string{c}
	}
	if s := str("score_field"); s != "" {
		e.score = s
	}
	if m := str("metadata_field"); m != "" {
		e.metadata = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseTemplate parses a request_template.
func ParseTemplate(src string) (*template.Template, error) {
	return template.New("request_template").Option("missingkey=error").Parse(src)
}

// TemplateData is what a request_template sees.
type TemplateData struct {
	Query     string // escaped for a JSON string literal, without quotes
	QueryJSON string // a quoted JSON string
	RawQuery  string
	TopK      int
	Threshold float64
}

// NewTemplateData prepares q for a request_template.
func NewTemplateData(q Query) TemplateData {
	b, _ := json.Marshal(q.Text) // a string always marshals
	return TemplateData{Query: string(b[1 : len(b)-1]), QueryJSON: string(b), RawQuery: q.Text, TopK: q.TopK, Threshold: q.Threshold}
}

// identity names what the backend answers for the cache key.
func (e *ExternalAPI) identity() string {
	return e.method + " " + e.endpoint.String() + "\x00" + e.tmplSrc
}

// Retrieve implements Retriever.
func (e *ExternalAPI) Retrieve(ctx context.Context, q Query) ([]Document, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := e.request(ctx, q)
	if err != nil {
		return nil, err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: query %s: %w", ErrBackend, e.endpoint.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read response of %s: %w", ErrBackend, e.endpoint.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: %s answered status %d", ErrBackend, e.endpoint.Redacted(), resp.StatusCode)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("%w: response of %s exceeds %d bytes", ErrBackend, e.endpoint.Redacted(), maxResponseBytes)
	}
	docs, err := e.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: response of %s: %w", ErrBackend, e.endpoint.Redacted(), err)
	}
	return docs, nil
}

func (e *ExternalAPI) request(ctx context.Context, q Query) (*http.Request, error) {
	var req *http.Request
	var err error
	if e.method == http.MethodGet {
		u := *e.endpoint
		v := u.Query()
		v.Set("query", q.Text)
		v.Set("top_k", strconv.Itoa(q.TopK))
		v.Set("threshold", strconv.FormatFloat(q.Threshold, 'g', -1, 64))
		u.RawQuery = v.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	} else {
		var body []byte
		body, err = e.RenderBody(q)
		if err != nil {
			return nil, err
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint.String(), bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", e.contentType)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range e.headers {
		req.Header.Set(h[0], h[1])
	}
	if e.authHeader != "" {
		req.Header.Set(e.authHeader, e.authValue)
	}
	return req, nil
}

// RenderBody renders the POST body for q.
func (e *ExternalAPI) RenderBody(q Query) ([]byte, error) {
	if e.tmpl == nil {
		return json.Marshal(struct {
			Query     string  `json:"query"`
			TopK      int     `json:"top_k"`
			Threshold float64 `json:"threshold"`
		}{q.Text, q.TopK, q.Threshold})
	}
	var b bytes.Buffer
	if err := e.tmpl.Execute(&b, NewTemplateData(q)); err != nil {
		return nil, fmt.Errorf("render request_template: %w", err)
	}
	return b.Bytes(), nil
}

// Parse reads the documents of a search response.
func (e *ExternalAPI) Parse(body []byte) ([]Document, error) {
	if !gjson.ValidBytes(body) {
		return nil, errors.New("not JSON")
	}
	root := gjson.ParseBytes(body)
	var arr gjson.Result
	switch {
	case e.results != "":
		arr = root.Get(e.results)
		if !arr.IsArray() {
			return nil, fmt.Errorf("results_field %q is not an array", e.results)
		}
	case root.IsArray():
		arr = root
	default:
		for _, k := range []string{"results", "documents", "data", "matches", "hits"} {
			if a := root.Get(k); a.IsArray() {
				arr = a
				break
			}
		}
		if !arr.Exists() {
			return nil, errors.New("no result array (results, documents, data, matches, hits)")
		}
	}
	docs := make([]Document, 0, len(arr.Array()))
	for _, r := range arr.Array() {
		var d Document
		if r.Type == gjson.String {
			d.Content, d.Score = r.Str, 1
			docs = append(docs, d)
			continue
		}
		for _, f := range e.content {
			if c := r.Get(f); c.Type == gjson.String {
				d.Content = c.Str
				break
			}
		}
		d.Score = 1
		if s := r.Get(e.score); s.Exists() {
			if s.Type != gjson.Number {
				return nil, fmt.Errorf("score_field %q is not a number: %s", e.score, s.Raw)
			}
			d.Score = s.Num
		}
		if m := r.Get(e.metadata); m.IsObject() {
			if mv, ok := m.Value().(map[string]any); ok {
				d.Metadata = mv
			}
		}
		docs = append(docs, d)
	}
	return docs, nil
}
