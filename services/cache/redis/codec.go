package redis

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/semrouter/semrouter/services/cache"
)

// Hash fields of an entry.
const (
	fPart    = "part"
	fPKey    = "pkey"
	fXKey    = "xkey"
	fExact   = "exact"
	fContext = "ctx"
	fEmb     = "emb"
	fQuery   = "query"
	fStatus  = "status"
	fCType   = "ctype"
	fHeaders = "headers"
	fBody    = "body"
	fCreated = "created"
	fExpires = "expires"
	fHits    = "hits"
)

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector of %d bytes", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func unixNano(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func parseUnixNano(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, n).UTC(), nil
}

// encodeEntry returns the hash fields of e.
func encodeEntry(e *cache.Entry, xkey string, expires time.Time) (map[string]any, error) {
	part, err := json.Marshal(e.Partition)
	if err != nil {
		return nil, fmt.Errorf("encode partition: %w", err)
	}
	headers, err := json.Marshal(e.Response.Headers)
	if err != nil {
		return nil, fmt.Errorf("encode headers: %w", err)
	}
	m := map[string]any{
		fPart:    part,
		fPKey:    e.Partition.Key(),
		fXKey:    xkey,
		fExact:   e.Exact.String(),
		fContext: e.Context.String(),
		fQuery:   e.Query,
		fStatus:  e.Response.StatusCode,
		fCType:   e.Response.ContentType,
		fHeaders: headers,
		fBody:    e.Response.Body,
		fCreated: unixNano(e.CreatedAt),
		fExpires: unixNano(expires),
		fHits:    0,
	}
	if e.Embedding != nil {
		m[fEmb] = encodeVector(e.Embedding)
	}
	return m, nil
}

// decodeEntry rebuilds an entry from its hash fields; it also returns the
// expiry the backend stored (default TTL applied).
func decodeEntry(m map[string]string) (*cache.Entry, time.Time, error) {
	var e cache.Entry
	if err := json.Unmarshal([]byte(m[fPart]), &e.Partition); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode partition: %w", err)
	}
	var err error
	if e.Exact, err = cache.ParseFingerprint(m[fExact]); err != nil {
		return nil, time.Time{}, err
	}
	if e.Context, err = cache.ParseFingerprint(m[fContext]); err != nil {
		return nil, time.Time{}, err
	}
	if emb, ok := m[fEmb]; ok {
		if e.Embedding, err = decodeVector([]byte(emb)); err != nil {
			return nil, time.Time{}, fmt.Errorf("decode embedding: %w", err)
		}
	}
	e.Query = m[fQuery]
	if e.Response.StatusCode, err = strconv.Atoi(m[fStatus]); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode status: %w", err)
	}
	e.Response.ContentType = m[fCType]
	if h := m[fHeaders]; h != "" && h != "null" {
		if err := json.Unmarshal([]byte(h), &e.Response.Headers); err != nil {
			return nil, time.Time{}, fmt.Errorf("decode headers: %w", err)
		}
	}
	e.Response.Body = []byte(m[fBody])
	e.Response.Complete = true
	if e.CreatedAt, err = parseUnixNano(m[fCreated]); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode created: %w", err)
	}
	expires, err := parseUnixNano(m[fExpires])
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("decode expires: %w", err)
	}
	e.ExpiresAt = expires
	if e.Hits, err = strconv.ParseInt(m[fHits], 10, 64); err != nil {
		e.Hits = 0
	}
	return &e, expires, nil
}
