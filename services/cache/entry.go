package cache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Identity is the caller the scope may partition by.
type Identity struct {
	Tenant string
	Team   string
	User   string
}

// Partition is the isolation unit: entries never answer across partitions.
type Partition struct {
	Revision string
	Decision string
	Model    string // the selected model
	Tenant   string
	Team     string
	User     string
	Stream   bool
}

// NewPartition builds the partition of a request under p's scope: the
// identity fields the scope does not ask for stay empty.
func NewPartition(p Policy, decision, model string, id Identity, stream bool) Partition {
	part := Partition{Revision: p.Revision, Decision: decision, Model: model, Stream: stream}
	switch p.Scope {
	case ScopeUser:
		part.Tenant, part.Team, part.User = id.Tenant, id.Team, id.User
	case ScopeTeam:
		part.Tenant, part.Team = id.Tenant, id.Team
	case ScopeTenant:
		part.Tenant = id.Tenant
	}
	return part
}

// Key is an unambiguous string form of p (fields are length-prefixed), used
// as a map and storage key.
func (p Partition) Key() string {
	var b strings.Builder
	for _, f := range [...]string{p.Revision, p.Decision, p.Model, p.Tenant, p.Team, p.User} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte('|')
	}
	if p.Stream {
		b.WriteString("s")
	} else {
		b.WriteString("n")
	}
	return b.String()
}

// Tier is where a hit came from.
type Tier string

// Tiers.
const (
	TierExact    Tier = "exact"
	TierSemantic Tier = "semantic"
)

// Response is a stored upstream answer.
type Response struct {
	StatusCode  int
	ContentType string
	Headers     map[string]string
	Body        []byte
	// Complete is false for a response cut short (upstream error mid-stream,
	// client gone); such responses are never stored.
	Complete bool
}

// Entry is one cached response with its keys.
type Entry struct {
	Partition Partition
	Exact     Fingerprint
	Context   Fingerprint
	// Embedding of the last user turn; nil makes the entry exact-only.
	Embedding []float32
	// Query is the last user turn's text (kept for inspection).
	Query     string
	Response  Response
	CreatedAt time.Time
	// ExpiresAt is zero for entries without their own TTL (the backend
	// default applies).
	ExpiresAt time.Time
	// Hits counts the times the entry answered (maintained by backends that
	// can afford it).
	Hits int64
}

// Errors shared by backends.
var (
	ErrNotStorable  = errors.New("cache: response is not storable")
	ErrTooLarge     = errors.New("cache: entry exceeds the memory bound")
	ErrDimension    = errors.New("cache: embedding dimension mismatch")
	ErrEmptyFilter  = errors.New("cache: invalidation filter matches everything; use Flush")
	ErrClosed       = errors.New("cache: backend closed")
	ErrInvalidEntry = errors.New("cache: invalid entry")
)

// Storable reports why r may not be stored: only complete 2xx responses are.
func (r Response) Storable() error {
	if r.StatusCode < 200 || r.StatusCode > 299 {
		return fmt.Errorf("%w: status %d", ErrNotStorable, r.StatusCode)
	}
	if !r.Complete {
		return fmt.Errorf("%w: incomplete response", ErrNotStorable)
	}
	return nil
}

// Validate checks e before it is stored.
func (e *Entry) Validate() error {
	if err := e.Response.Storable(); err != nil {
		return err
	}
	if e.Exact.IsZero() {
		return fmt.Errorf("%w: no exact fingerprint", ErrInvalidEntry)
	}
	if e.Embedding != nil && e.Context.IsZero() {
		return fmt.Errorf("%w: embedding without a context fingerprint", ErrInvalidEntry)
	}
	if e.CreatedAt.IsZero() {
		return fmt.Errorf("%w: no creation time", ErrInvalidEntry)
	}
	return nil
}

// SizeBytes estimates the memory e holds (body, headers, embedding, keys
// and fixed overhead); the memory bound of backends counts this.
func (e *Entry) SizeBytes() int64 {
	n := int64(len(e.Response.Body)) + int64(len(e.Response.ContentType)) + int64(len(e.Query))
	for k, v := range e.Response.Headers {
		n += int64(len(k)+len(v)) + 32
	}
	n += int64(len(e.Embedding)) * 4
	p := e.Partition
	n += int64(len(p.Revision) + len(p.Decision) + len(p.Model) + len(p.Tenant) + len(p.Team) + len(p.User))
	return n + 2*int64(len(Fingerprint{})) + 256
}
