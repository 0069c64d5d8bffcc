package responses

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNotFound: no stored response with that id for that caller (absent,
// expired, deleted, or stored for another user).
var ErrNotFound = errors.New("response not found")

// Record is one stored response: the Response object, the request's own
// input items, and the conversation before it (what previous_response_id
// brought in), so that a continuation never needs older records.
type Record struct {
	// Owner is the trusted user id of the caller that created it ("" for
	// an anonymous caller); only the same caller reads it.
	Owner    string    `json:"owner,omitempty"`
	Response *Response `json:"response"`
	Input    []Item    `json:"input"`
	History  []Item    `json:"history,omitempty"`
	// ConversationID is the id of the first response of the chain
	// (previous_response_id links), inherited by every continuation: the
	// router's conversation key for model switch protection. Records
	// stored without it belong to the conversation of their own id.
	ConversationID string `json:"conversation_id,omitempty"`
}

// ChainID is the conversation r belongs to (ConversationID, else r's
// own id).
func (r *Record) ChainID() string {
	if r.ConversationID != "" {
		return r.ConversationID
	}
	if r.Response != nil {
		return r.Response.ID
	}
	return ""
}

// Conversation is what a request continuing r starts from: r's history,
// its input, then its output.
func (r *Record) Conversation() []Item {
	out := make([]Item, 0, len(r.History)+len(r.Input)+len(r.Response.Output))
	out = append(out, r.History...)
	out = append(out, r.Input...)
	return append(out, r.Response.Output...)
}

// Store keeps responses for previous_response_id and the retrieval
// endpoints. Implementations are safe for concurrent use.
type Store interface {
	Put(ctx context.Context, rec *Record) error
	// Get returns the record id of owner, or ErrNotFound.
	Get(ctx context.Context, owner, id string) (*Record, error)
	// Delete removes the record id of owner, or returns ErrNotFound.
	Delete(ctx context.Context, owner, id string) error
}

// Store backends (global.services.response_api.store_backend).
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"
)

// Defaults of StoreConfig's zero values.
const (
	DefaultTTL          = 24 * time.Hour
	DefaultMaxResponses = 1000
	DefaultKeyPrefix    = "semrouter:responses:"
)

// Settings is the compiled global.services.response_api block.
type Settings struct {
	// Disabled: enabled: false (the endpoints answer 404).
	Disabled bool
	Store    StoreConfig
}

// StoreConfig selects and sizes the store.
type StoreConfig struct {
	Backend      string
	TTL          time.Duration
	MaxResponses int
	Redis        RedisConfig
}

func (c StoreConfig) ttl() time.Duration {
	if c.TTL <= 0 {
		return DefaultTTL
	}
	return c.TTL
}

func (c StoreConfig) max() int {
	if c.MaxResponses <= 0 {
		return DefaultMaxResponses
	}
	return c.MaxResponses
}

// Open opens the store c names (memory for an empty backend).
func Open(c StoreConfig, now func() time.Time) (Store, error) {
	switch c.Backend {
	case "", BackendMemory:
		return NewMemoryStore(c.max(), c.ttl(), now), nil
	case BackendRedis:
		return OpenRedis(c.Redis, c.max(), c.ttl(), now)
	}
	return nil, fmt.Errorf("open response store: unknown backend %q", c.Backend)
}

// MemoryStore keeps responses in process: at most max, each for ttl; the
// oldest goes first when full.
type MemoryStore struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	byID  map[string]*list.Element
	order *list.List // of *memEntry, oldest first
}

type memEntry struct {
	id      string
	owner   string
	expires time.Time
	data    []byte
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore makes an in-process store.
func NewMemoryStore(max int, ttl time.Duration, now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{max: max, ttl: ttl, now: now, byID: map[string]*list.Element{}, order: list.New()}
}

// Put stores rec (a copy), evicting expired and then the oldest records.
func (m *MemoryStore) Put(ctx context.Context, rec *Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode response %s: %w", rec.Response.ID, err)
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.byID[rec.Response.ID]; ok {
		m.order.Remove(el)
		delete(m.byID, rec.Response.ID)
	}
	for el := m.order.Front(); el != nil; el = m.order.Front() {
		e := el.Value.(*memEntry)
		if m.order.Len() < m.max && now.Before(e.expires) {
			break
		}
		m.order.Remove(el)
		delete(m.byID, e.id)
	}
	m.byID[rec.Response.ID] = m.order.PushBack(&memEntry{id: rec.Response.ID, owner: rec.Owner,
		expires: now.Add(m.ttl), data: data})
	return nil
}

// Get returns a copy of the record.
func (m *MemoryStore) Get(ctx context.Context, owner, id string) (*Record, error) {
	m.mu.Lock()
	e := m.live(owner, id)
	m.mu.Unlock()
	if e == nil {
		return nil, ErrNotFound
	}
	var rec Record
	if err := json.Unmarshal(e.data, &rec); err != nil {
		return nil, fmt.Errorf("decode response %s: %w", id, err)
	}
	return &rec, nil
}

// Delete removes the record.
func (m *MemoryStore) Delete(ctx context.Context, owner, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live(owner, id) == nil {
		return ErrNotFound
	}
	m.order.Remove(m.byID[id])
	delete(m.byID, id)
	return nil
}

// Len is the number of records held (expired ones not yet dropped
// included).
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

// live is the entry id of owner when it has not expired (under mu).
func (m *MemoryStore) live(owner, id string) *memEntry {
	el, ok := m.byID[id]
	if !ok {
		return nil
	}
	e := el.Value.(*memEntry)
	if e.owner != owner {
		return nil
	}
	if !m.now().Before(e.expires) {
		m.order.Remove(el)
		delete(m.byID, id)
		return nil
	}
	return e
}
