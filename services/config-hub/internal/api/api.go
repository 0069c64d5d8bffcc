// Package api is config-hub's management HTTP API: read the active
// configuration (secrets redacted), replace or patch it with optimistic
// concurrency (ETag / If-Match), validate, list versions, roll back.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
)

// MaxBodyBytes bounds a submitted document.
const MaxBodyBytes = 8 << 20

// Store is what the API needs from the revision store.
type Store interface {
	Current(ctx context.Context) (store.Revision, error)
	Get(ctx context.Context, rev uint64) (store.Revision, error)
	Publish(ctx context.Context, doc []byte, source string, pre store.Precondition) (store.Result, error)
	Versions(ctx context.Context) ([]store.Version, error)
	Rollback(ctx context.Context, rev uint64, pre store.Precondition) (store.Result, error)
}

var _ Store = (*store.Store)(nil)

// Options configure a Server.
type Options struct {
	Store Store
	// Ready reports whether the hub can serve (nil error = ready).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Getenv looks up token variables (os.Getenv when nil).
	Getenv func(string) string
	// AdminToken, when set, is a deployment-level bearer token with every
	// permission: authentication is then on from the first request and
	// for every revision, whatever its management_api.auth says (the
	// revision's tokens are accepted as well).
	AdminToken string
}

// Server serves the management API.
type Server struct {
	store  Store
	ready  func(ctx context.Context) error
	logger *slog.Logger
	getenv func(string) string
	admin  string
	auth   atomic.Pointer[Auth]
}

// New returns a server with authentication disabled until SetConfig (on
// at once with Options.AdminToken).
func New(opts Options) *Server {
	s := &Server{store: opts.Store, ready: opts.Ready, logger: opts.Logger, getenv: opts.Getenv, admin: opts.AdminToken}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.getenv == nil {
		s.getenv = os.Getenv
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	s.auth.Store((&Auth{}).withAdmin(s.admin))
	return s
}

// SetConfig applies the management_api.auth block of the active revision.
func (s *Server) SetConfig(cfg *config.Config) {
	s.auth.Store(CompileAuth(cfg.Global.Services.ManagementAPI, s.getenv, s.logger).withAdmin(s.admin))
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /config/router", s.guard(PermConfigRead, s.getConfig))
	mux.Handle("PUT /config/router", s.guard(PermConfigWrite, s.putConfig))
	mux.Handle("PATCH /config/router", s.guard(PermConfigWrite, s.patchConfig))
	mux.Handle("POST /config/router/validate", s.guard(PermConfigWrite, s.validate))
	mux.Handle("GET /config/router/versions", s.guard(PermConfigRead, s.versions))
	mux.Handle("POST /config/router/rollback", s.guard(PermConfigRollback, s.rollback))
	mux.Handle("GET /config/hash", s.guard(PermConfigRead, s.hash))
	path, h := s.ConnectHandler()
	mux.Handle(path, h)
	return s.browserGuard(mux)
}

// browserGuard refuses what a web page could make an operator's browser
// send: a request from another origin (an Origin header whose host is not
// the request's Host: a form POST to /config/router/rollback needs no
// preflight) and, while authentication is off, a request whose Host is
// neither an IP address nor localhost (DNS rebinding: a site whose name
// resolves to 127.0.0.1). Clients that are not browsers send no Origin;
// /health and /ready stay open.
func (s *Server) browserGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || r.URL.Path == "/ready" {
			next.ServeHTTP(w, r)
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || !strings.EqualFold(u.Host, r.Host) {
				writeError(w, http.StatusForbidden, "cross-origin requests are refused")
				return
			}
		}
		if !s.auth.Load().Enabled() && !localHost(r.Host) {
			writeError(w, http.StatusForbidden, "without authentication the management API answers only requests addressed to an IP address or localhost")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localHost reports whether a Host header names an IP address or localhost.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if net.ParseIP(host) != nil {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

func (s *Server) guard(perm string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch code := s.auth.Load().authorize(r.Header.Get("Authorization"), perm); code {
		case 0:
			h(w, r)
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="semrouter"`)
			writeError(w, code, "a valid bearer token is required")
		default:
			writeError(w, code, fmt.Sprintf("this token's role lacks %s", perm))
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// problemsBody is the body of a 400 caused by an invalid document.
type problemsBody struct {
	Error    string          `json:"error"`
	Problems config.Problems `json:"problems"`
}

func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// parseIfMatch reads a revision from If-Match ("5", "\"5\"", W/"5"; "*"
// means the active revision, whatever it is).
func parseIfMatch(v string) (rev uint64, any bool, err error) {
	v = strings.TrimSpace(v)
	if v == "*" {
		return 0, true, nil
	}
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	rev, err = strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("If-Match %q is not a revision", v)
	}
	return rev, false, nil
}

func wantJSON(r *http.Request) bool {
	switch strings.ToLower(r.URL.Query().Get("format")) {
	case "json":
		return true
	case "yaml", "yml":
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return true
		}
	}
	return false
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	var rev store.Revision
	var err error
	if q := r.URL.Query().Get("revision"); q != "" {
		n, perr := strconv.ParseUint(q, 10, 64)
		if perr != nil {
			writeError(w, http.StatusBadRequest, "revision must be a number")
			return
		}
		rev, err = s.store.Get(r.Context(), n)
	} else {
		rev, err = s.store.Current(r.Context())
	}
	if s.storeError(w, err) {
		return
	}
	node, err := RedactYAML(rev.Document)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	var body []byte
	ctype := "application/yaml"
	if wantJSON(r) {
		var buf bytes.Buffer
		if err = config.NodeJSON(&buf, node); err == nil {
			buf.WriteByte('\n')
			body, ctype = buf.Bytes(), "application/json"
		}
	} else {
		body, err = config.NodeYAML(node)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("ETag", etag(rev.Revision))
	w.Header().Set("X-Config-Hash", rev.Hash)
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(body)
}

// storeError writes the response for a store error; false when err is nil.
func (s *Server) storeError(w http.ResponseWriter, err error) bool {
	var verr *store.ValidationError
	var cerr *store.ConflictError
	switch {
	case err == nil:
		return false
	case errors.As(err, &verr):
		writeJSON(w, http.StatusBadRequest, problemsBody{Error: "invalid configuration", Problems: verr.Problems.Errors()})
	case errors.As(err, &cerr):
		w.Header().Set("ETag", etag(cerr.Current))
		writeJSON(w, http.StatusPreconditionFailed, map[string]any{
			"error": "the configuration changed since the revision in If-Match", "expected": cerr.Expected, "current": cerr.Current,
		})
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		s.logger.Error("management API store error", slog.String("error", err.Error()))
		writeError(w, http.StatusInternalServerError, "configuration store unavailable")
	}
	return true
}

// precondition reads If-Match; it writes 428/400 and returns false when the
// request cannot go on.
func (s *Server) precondition(w http.ResponseWriter, r *http.Request, required bool) (store.Precondition, bool) {
	h := r.Header.Get("If-Match")
	if h == "" {
		if required {
			writeError(w, http.StatusPreconditionRequired, "If-Match with the revision you edited (the ETag of GET /config/router) is required")
			return store.Precondition{}, false
		}
		return store.Precondition{}, true
	}
	rev, anyRev, err := parseIfMatch(h)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return store.Precondition{}, false
	}
	if anyRev {
		cur, err := s.store.Current(r.Context())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.storeError(w, err)
			return store.Precondition{}, false
		}
		rev = cur.Revision
	}
	return store.IfRevision(rev), true
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("read body: %v", err))
		return nil, false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		writeError(w, http.StatusBadRequest, "empty body")
		return nil, false
	}
	return data, true
}

// current returns the active document, or nil when nothing is published.
func (s *Server) current(ctx context.Context) (store.Revision, error) {
	rev, err := s.store.Current(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return store.Revision{}, nil
	}
	return rev, err
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	pre, ok := s.precondition(w, r, true)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	s.publish(w, r, body, "PUT /config/router", pre)
}

func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request) {
	pre, ok := s.precondition(w, r, true)
	if !ok {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/merge-patch+json" && mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "PATCH takes a JSON merge patch (application/merge-patch+json)")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	cur, err := s.store.Current(r.Context())
	if s.storeError(w, err) {
		return
	}
	if cur.Revision != pre.Revision {
		s.storeError(w, &store.ConflictError{Expected: pre.Revision, Current: cur.Revision})
		return
	}
	doc, err := applyMergePatch(cur.Document, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.publish(w, r, doc, "PATCH /config/router", pre)
}

// publishBody is the answer to a successful write.
type publishBody struct {
	Revision     uint64          `json:"revision"`
	Changed      bool            `json:"changed"`
	Hash         string          `json:"hash"`
	RestoredFrom uint64          `json:"restored_from,omitempty"`
	Warnings     config.Problems `json:"warnings,omitempty"`
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request, doc []byte, source string, pre store.Precondition) {
	cur, err := s.current(r.Context())
	if s.storeError(w, err) {
		return
	}
	if pre.Check && pre.Revision != cur.Revision {
		s.storeError(w, &store.ConflictError{Expected: pre.Revision, Current: cur.Revision})
		return
	}
	doc, err = restoreRedacted(doc, cur.Document)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.auth.Load().checkManagementChange(r.Header.Get("Authorization"), doc, cur.Document); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	res, err := s.store.Publish(r.Context(), doc, source, pre)
	if s.storeError(w, err) {
		return
	}
	w.Header().Set("ETag", etag(res.Revision))
	writeJSON(w, http.StatusOK, publishBody{Revision: res.Revision, Changed: res.Changed, Hash: res.Hash, Warnings: res.Problems.Warnings()})
}

// validateBody is the answer of POST /config/router/validate.
type validateBody struct {
	Valid    bool            `json:"valid"`
	Hash     string          `json:"hash,omitempty"`
	Problems config.Problems `json:"problems"`
}

func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	cur, err := s.current(r.Context())
	if s.storeError(w, err) {
		return
	}
	if body, err = restoreRedacted(body, cur.Document); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	_, canon, probs, err := store.Validate(body, "request")
	var verr *store.ValidationError
	if err != nil && !errors.As(err, &verr) {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := validateBody{Valid: err == nil, Problems: probs}
	if out.Problems == nil {
		out.Problems = config.Problems{}
	}
	if err == nil {
		out.Hash = store.Digest(canon)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.store.Versions(r.Context())
	if s.storeError(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": vs})
}

// rollbackRequest is the body of POST /config/router/rollback.
type rollbackRequest struct {
	Revision uint64 `json:"revision"`
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	pre, ok := s.precondition(w, r, false)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req rollbackRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Revision == 0 {
		writeError(w, http.StatusBadRequest, `body must be {"revision": N} with N > 0`)
		return
	}
	// Rolling back to a revision with another management_api (auth off,
	// a revoked token) needs the same permission as writing it.
	target, err := s.store.Get(r.Context(), req.Revision)
	if s.storeError(w, err) {
		return
	}
	cur, err := s.current(r.Context())
	if s.storeError(w, err) {
		return
	}
	if err := s.auth.Load().checkManagementChange(r.Header.Get("Authorization"), target.Document, cur.Document); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	res, err := s.store.Rollback(r.Context(), req.Revision, pre)
	if s.storeError(w, err) {
		return
	}
	w.Header().Set("ETag", etag(res.Revision))
	writeJSON(w, http.StatusOK, publishBody{Revision: res.Revision, Changed: res.Changed, Hash: res.Hash, RestoredFrom: req.Revision})
}

func (s *Server) hash(w http.ResponseWriter, r *http.Request) {
	cur, err := s.store.Current(r.Context())
	if s.storeError(w, err) {
		return
	}
	w.Header().Set("ETag", etag(cur.Revision))
	writeJSON(w, http.StatusOK, map[string]any{"hash": cur.Hash, "revision": cur.Revision})
}
