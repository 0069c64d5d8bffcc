package milvus

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/semrouter/semrouter/services/cache"
)

// Field names of the collection.
const (
	fID       = "id"
	fGroup    = "grp"
	fPart     = "part"
	fDecision = "decision"
	fCreated  = "created"
	fExpires  = "expires"
	fTouched  = "touched"
	fHits     = "hits"
	fSize     = "size"
	fHasVec   = "has_vec"
	fPayload  = "payload"
)

// maxPayload is the VarChar limit of the payload field; larger entries are
// rejected with cache.ErrTooLarge.
const maxPayload = 65535

// digest is a 32-hex-digit key safe to quote in Milvus expressions.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func rowID(p cache.Partition, exact cache.Fingerprint) string {
	return digest(p.Key(), exact.String())
}

func groupKey(p cache.Partition, ctx cache.Fingerprint) string {
	return digest(p.Key(), "ctx", ctx.String())
}

func partKey(p cache.Partition) string { return digest(p.Key()) }

func decisionKey(d string) string { return digest("decision", d) }

// payload is the entry without its embedding, as stored in the payload
// field.
type payload struct {
	Revision    string            `json:"rev,omitempty"`
	Decision    string            `json:"dec,omitempty"`
	Model       string            `json:"model,omitempty"`
	Tenant      string            `json:"tenant,omitempty"`
	Team        string            `json:"team,omitempty"`
	User        string            `json:"user,omitempty"`
	Stream      bool              `json:"stream,omitempty"`
	Exact       string            `json:"exact"`
	Context     string            `json:"ctx,omitempty"`
	Query       string            `json:"q,omitempty"`
	Status      int               `json:"status"`
	ContentType string            `json:"ct,omitempty"`
	Headers     map[string]string `json:"h,omitempty"`
	Body        []byte            `json:"body,omitempty"`
	Created     int64             `json:"created"`
	Expires     int64             `json:"expires,omitempty"`
}

func encodePayload(e *cache.Entry) (string, error) {
	p := payload{
		Revision: e.Partition.Revision, Decision: e.Partition.Decision, Model: e.Partition.Model,
		Tenant: e.Partition.Tenant, Team: e.Partition.Team, User: e.Partition.User, Stream: e.Partition.Stream,
		Exact: e.Exact.String(), Query: e.Query,
		Status: e.Response.StatusCode, ContentType: e.Response.ContentType, Headers: e.Response.Headers,
		Body: e.Response.Body, Created: e.CreatedAt.UnixNano(),
	}
	if !e.Context.IsZero() {
		p.Context = e.Context.String()
	}
	if !e.ExpiresAt.IsZero() {
		p.Expires = e.ExpiresAt.UnixNano()
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode cache entry: %w", err)
	}
	if len(b) > maxPayload {
		return "", fmt.Errorf("%w: encoded entry is %d bytes, the milvus payload field holds %d", cache.ErrTooLarge, len(b), maxPayload)
	}
	return string(b), nil
}

func decodePayload(s string) (*cache.Entry, error) {
	var p payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("decode cache entry: %w", err)
	}
	e := &cache.Entry{
		Partition: cache.Partition{Revision: p.Revision, Decision: p.Decision, Model: p.Model,
			Tenant: p.Tenant, Team: p.Team, User: p.User, Stream: p.Stream},
		Query: p.Query,
		Response: cache.Response{StatusCode: p.Status, ContentType: p.ContentType, Headers: p.Headers,
			Body: p.Body, Complete: true},
		CreatedAt: time.Unix(0, p.Created).UTC(),
	}
	var err error
	if e.Exact, err = cache.ParseFingerprint(p.Exact); err != nil {
		return nil, err
	}
	if p.Context != "" {
		if e.Context, err = cache.ParseFingerprint(p.Context); err != nil {
			return nil, err
		}
	}
	if p.Expires != 0 {
		e.ExpiresAt = time.Unix(0, p.Expires).UTC()
	}
	return e, nil
}

// row is one collection row as read back.
type row struct {
	id      string
	created int64
	expires int64 // 0: never
	touched int64
	hits    int64
	size    int64
	entry   *cache.Entry
	vec     []float32
	hasVec  bool
}
