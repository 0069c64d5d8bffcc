package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/services/cache"
)

// Reserved response header names carrying the CachedResponse fields the
// core cache.Response has no field for. They start with ':' so they never
// collide with real HTTP header names.
const (
	hdrModel = ":model"
	hdrSSE   = ":sse"
	hdrUsage = ":usage"
)

// errInvalid marks a request the caller must fix (InvalidArgument).
var errInvalid = errors.New("invalid request")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// revisionKey folds the entrypoint recipe into the partition revision:
// cache.Partition has no recipe field, and entries of different recipes
// must not answer for each other. The recipe is length-prefixed so that no
// (recipe, revision) pair collides with another.
func revisionKey(recipe, revision string) string {
	return strconv.Itoa(len(recipe)) + ":" + recipe + "|" + revision
}

// toPartition maps a wire partition to the core one. Scope GLOBAL (or
// unset) must not carry a scope id; TENANT, TEAM and USER need one.
func toPartition(p *cachev1.Partition) (cache.Partition, error) {
	part := cache.Partition{
		Revision: revisionKey(p.GetRecipe(), p.GetRevision()),
		Decision: p.GetDecision(),
		Model:    p.GetModel(),
		Stream:   p.GetStream(),
	}
	id := p.GetScopeId()
	switch p.GetScope() {
	case cachev1.CacheScope_CACHE_SCOPE_UNSPECIFIED, cachev1.CacheScope_CACHE_SCOPE_GLOBAL:
		if id != "" {
			return part, invalidf("partition.scope_id %q set for a global scope", id)
		}
	case cachev1.CacheScope_CACHE_SCOPE_TENANT, cachev1.CacheScope_CACHE_SCOPE_TEAM, cachev1.CacheScope_CACHE_SCOPE_USER:
		if id == "" {
			return part, invalidf("partition.scope %s needs a scope_id", p.GetScope())
		}
		switch p.GetScope() {
		case cachev1.CacheScope_CACHE_SCOPE_TENANT:
			part.Tenant = id
		case cachev1.CacheScope_CACHE_SCOPE_TEAM:
			part.Team = id
		default:
			part.User = id
		}
	default:
		return part, invalidf("partition.scope %d is unknown", p.GetScope())
	}
	return part, nil
}

func parseFP(field, s string, required bool) (cache.Fingerprint, error) {
	if s == "" {
		if required {
			return cache.Fingerprint{}, invalidf("%s is required", field)
		}
		return cache.Fingerprint{}, nil
	}
	fp, err := cache.ParseFingerprint(strings.ToLower(s))
	if err != nil {
		return fp, invalidf("%s: %v", field, err)
	}
	return fp, nil
}

func toMode(m cachev1.LookupMode) (cache.Mode, error) {
	switch m {
	case cachev1.LookupMode_LOOKUP_MODE_UNSPECIFIED, cachev1.LookupMode_LOOKUP_MODE_EXACT_THEN_SEMANTIC:
		return cache.ModeExactThenSemantic, nil
	case cachev1.LookupMode_LOOKUP_MODE_EXACT:
		return cache.ModeExact, nil
	case cachev1.LookupMode_LOOKUP_MODE_SEMANTIC:
		return cache.ModeSemantic, nil
	}
	return "", invalidf("mode %d is unknown", m)
}

// toQuery maps a lookup. dim is the backend's embedding dimension (0:
// unknown yet, the semantic tier is skipped); threshold is the store
// default used when the request leaves it at 0.
func toQuery(req *cachev1.LookupRequest, dim int, threshold float32) (cache.Query, error) {
	var q cache.Query
	var err error
	if q.Partition, err = toPartition(req.GetPartition()); err != nil {
		return q, err
	}
	if q.Mode, err = toMode(req.GetMode()); err != nil {
		return q, err
	}
	if q.Exact, err = parseFP("exact_fingerprint", req.GetExactFingerprint(), q.Mode == cache.ModeExact); err != nil {
		return q, err
	}
	if q.Context, err = parseFP("context_fingerprint", req.GetContextFingerprint(), false); err != nil {
		return q, err
	}
	if q.Exact.IsZero() && q.Context.IsZero() {
		return q, invalidf("exact_fingerprint or context_fingerprint is required")
	}
	if t := req.GetSimilarityThreshold(); t != 0 {
		if t < 0 || t > 1 {
			return q, invalidf("similarity_threshold %v: want 0..1", t)
		}
		q.Threshold = float32(t)
	} else {
		q.Threshold = threshold
	}
	q.Text = req.GetQueryText()
	if d := req.GetMaxAge(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() < 0 {
			return q, invalidf("max_age: must be a non-negative duration")
		}
		q.MaxAge = d.AsDuration()
	}
	if v := req.GetQueryEmbedding().GetValues(); len(v) > 0 && dim > 0 && !q.Context.IsZero() {
		if len(v) != dim {
			return q, invalidf("query_embedding has %d dimensions, the cache holds %d", len(v), dim)
		}
		q.Embedding = v
	}
	return q, nil
}

// errNotStorable wraps the reasons a write is dropped without being an
// invalid request.
var errNotStorable = errors.New("not storable")

// toEntry maps a write. published is when the write was made (stream
// timestamp, or now) and is the creation time unless the response carries
// stored_at.
func toEntry(req *cachev1.StoreRequest, published time.Time) (*cache.Entry, error) {
	part, err := toPartition(req.GetPartition())
	if err != nil {
		return nil, err
	}
	e := &cache.Entry{Partition: part, Query: req.GetQueryText(), CreatedAt: published}
	if e.Exact, err = parseFP("exact_fingerprint", req.GetExactFingerprint(), true); err != nil {
		return nil, err
	}
	if e.Context, err = parseFP("context_fingerprint", req.GetContextFingerprint(), false); err != nil {
		return nil, err
	}
	if v := req.GetQueryEmbedding().GetValues(); len(v) > 0 {
		if e.Context.IsZero() {
			return nil, invalidf("query_embedding without a context_fingerprint")
		}
		e.Embedding = v
	}
	r := req.GetResponse()
	if r == nil {
		return nil, fmt.Errorf("%w: no response", errNotStorable)
	}
	status := int(r.GetStatusCode())
	if status == 0 {
		status = 200 // unset: the gateway only sends completed answers
	}
	if status < 200 || status > 299 {
		return nil, fmt.Errorf("%w: status %d", errNotStorable, status)
	}
	e.Response = cache.Response{StatusCode: status, ContentType: r.GetContentType(), Body: r.GetBody(), Complete: true}
	if r.GetModel() != "" || r.GetSse() || r.GetUsage() != nil {
		e.Response.Headers = map[string]string{}
		if r.GetModel() != "" {
			e.Response.Headers[hdrModel] = r.GetModel()
		}
		if r.GetSse() {
			e.Response.Headers[hdrSSE] = "1"
		}
		if u := r.GetUsage(); u != nil {
			b, err := protojson.Marshal(u)
			if err != nil {
				return nil, fmt.Errorf("encode usage: %w", err)
			}
			e.Response.Headers[hdrUsage] = string(b)
		}
	}
	if ts := r.GetStoredAt(); ts != nil && ts.IsValid() && ts.AsTime().Unix() > 0 {
		e.CreatedAt = ts.AsTime()
	}
	if d := req.GetTtl(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() < 0 {
			return nil, invalidf("ttl: must be a non-negative duration")
		}
		if ttl := d.AsDuration(); ttl > 0 {
			e.ExpiresAt = e.CreatedAt.Add(ttl)
		}
	}
	return e, nil
}

// toCached maps a stored entry back to the wire form.
func toCached(e *cache.Entry) *cachev1.CachedResponse {
	r := &cachev1.CachedResponse{
		Body:        e.Response.Body,
		ContentType: e.Response.ContentType,
		StoredAt:    timestamppb.New(e.CreatedAt),
		StatusCode:  int32(e.Response.StatusCode),
	}
	if h := e.Response.Headers; h != nil {
		r.Model = h[hdrModel]
		r.Sse = h[hdrSSE] == "1"
		if s, ok := h[hdrUsage]; ok {
			u := &commonv1.Usage{}
			if protojson.Unmarshal([]byte(s), u) == nil {
				r.Usage = u
			}
		}
	}
	return r
}

// entryID names an entry by the pair that identifies it in every backend:
// a short digest of its partition, then its exact fingerprint (hex), so
// that a Served report can name the entry it used.
func entryID(p cache.Partition, exact cache.Fingerprint) string {
	h := sha256.Sum256([]byte(p.Key()))
	return hex.EncodeToString(h[:entryIDPartBytes]) + hex.EncodeToString(exact[:])
}

// entryIDPartBytes is how much of the partition's digest an entry id
// carries, before the entry's exact fingerprint.
const entryIDPartBytes = 8

// parseEntryID returns the exact fingerprint of the entry id of partition
// p; an id of another partition or of no entry is invalid.
func parseEntryID(p cache.Partition, id string) (cache.Fingerprint, error) {
	h := sha256.Sum256([]byte(p.Key()))
	prefix := hex.EncodeToString(h[:entryIDPartBytes])
	rest, ok := strings.CutPrefix(strings.ToLower(id), prefix)
	if !ok || len(rest) != 2*len(cache.Fingerprint{}) {
		return cache.Fingerprint{}, invalidf("entry_id %q is not an entry of the partition", id)
	}
	return parseFP("entry_id", rest, true)
}

// toFilter maps an invalidation request. Dry run is the default. The core
// filter matches a whole partition or one decision, so a partition filter
// setting only decision matches that decision in every partition, and one
// setting any other field matches exactly that partition (its empty fields
// then mean empty, not "any").
func toFilter(req *cachev1.InvalidateRequest) (cache.InvalidateFilter, error) {
	f := cache.InvalidateFilter{DryRun: true}
	if req.DryRun != nil {
		f.DryRun = req.GetDryRun()
	}
	if d := req.GetOlderThan(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() < 0 {
			return f, invalidf("older_than: must be a non-negative duration")
		}
		f.OlderThan = d.AsDuration()
	}
	if p := req.GetPartition(); p != nil {
		if decisionOnly(p) {
			f.Decision = p.GetDecision()
		} else if !isEmptyPartition(p) {
			part, err := toPartition(p)
			if err != nil {
				return f, err
			}
			f.Partition = &part
		}
	}
	return f, nil
}

func isEmptyPartition(p *cachev1.Partition) bool {
	return p.GetRecipe() == "" && p.GetDecision() == "" && p.GetModel() == "" && p.GetScopeId() == "" &&
		p.GetRevision() == "" && !p.GetStream() &&
		p.GetScope() == cachev1.CacheScope_CACHE_SCOPE_UNSPECIFIED
}

func decisionOnly(p *cachev1.Partition) bool {
	return p.GetDecision() != "" && p.GetRecipe() == "" && p.GetModel() == "" && p.GetScopeId() == "" &&
		p.GetRevision() == "" && !p.GetStream() &&
		p.GetScope() == cachev1.CacheScope_CACHE_SCOPE_UNSPECIFIED
}
