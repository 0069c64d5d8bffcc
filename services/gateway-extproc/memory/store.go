// Package memory is the per-user conversational memory of the gateway
// (decision plugin `memory`, store global.stores.memory): facts a user
// stated in earlier requests are retrieved by embedding similarity and
// injected into later requests of the same trusted user.
//
// Memories are personal data. Each user's memories live under one key of
// the store (valkey: the Redis hash `<collection_prefix><user id>`), so an
// operator deletes everything the router remembers about a user with one
// DEL of that key (Store.Forget); nothing expires on its own, and a user
// keeps at most MaxEntries memories (the oldest are evicted first).
package memory

import (
	"context"
	"errors"
	"time"
)

// DefaultMaxEntries caps the memories kept per user: retrieval is a
// brute-force cosine scan over all of them, so the cap also bounds the
// work and the Redis reply of a request.
const DefaultMaxEntries = 200

// Entry is one stored memory.
type Entry struct {
	// ID orders entries by creation (zero-padded nanoseconds, then a
	// counter), so the smallest ID is the oldest entry.
	ID        string
	Text      string
	Embedding []float32
	CreatedAt time.Time
	// Source names what produced the memory ("user_turn").
	Source string
}

// Store keeps the memories of each user. User ids are the trusted
// identity of the request; an empty user is never stored nor read.
type Store interface {
	// List returns every memory of user (any order).
	List(ctx context.Context, user string) ([]Entry, error)
	// Add stores e and evicts the oldest entries beyond maxEntries.
	Add(ctx context.Context, user string, e Entry, maxEntries int) error
	// Forget deletes every memory of user and returns how many there were.
	Forget(ctx context.Context, user string) (int, error)
}

// ErrNoUser is returned for an empty user id.
var ErrNoUser = errors.New("memory: no user id")
