// Package store publishes validated, canonical configuration documents as
// revisions of one JetStream KV key, with optimistic concurrency, history
// and rollback.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/config"
)

// History is the number of revisions the config bucket keeps.
const History = 32

var (
	// ErrConflict is wrapped by the error of a write whose expected revision
	// is not the active one.
	ErrConflict = errors.New("revision conflict")
	// ErrNotFound is returned when no revision is published yet, or the
	// named revision is not in the history.
	ErrNotFound = errors.New("revision not found")
)

// ConflictError reports a stale write: Expected is the revision the caller
// edited, Current the active one (0 when nothing is published).
type ConflictError struct {
	Expected uint64
	Current  uint64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%v: expected revision %d, active revision is %d", ErrConflict, e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ValidationError is returned for a document that does not validate; it
// wraps config.ErrInvalid and carries every problem.
type ValidationError struct {
	Problems config.Problems
	Err      error
}

func (e *ValidationError) Error() string { return e.Err.Error() }
func (e *ValidationError) Unwrap() error { return e.Err }

// Revision is one published document.
type Revision struct {
	Revision uint64
	Created  time.Time
	// Document is the canonical YAML.
	Document []byte
	// Hash is "sha256:<hex>" of Document (equal to config.Hash of it).
	Hash string
}

// Version describes one stored revision without its document.
type Version struct {
	Revision uint64    `json:"revision"`
	Created  time.Time `json:"created"`
	Hash     string    `json:"hash"`
	Size     int       `json:"size"`
	Active   bool      `json:"active"`
}

// Result is the outcome of a publish.
type Result struct {
	// Revision is the new revision, or the active one when Changed is false.
	Revision uint64
	// Changed is false when the document equals the active revision and
	// nothing was written.
	Changed bool
	Hash    string
	// Problems holds the warnings of the document.
	Problems config.Problems
}

// Precondition says which revision a write replaces.
type Precondition struct {
	// Check enables the optimistic concurrency check.
	Check bool
	// Revision is the revision being replaced; 0 means "nothing published
	// yet" (a create).
	Revision uint64
}

// IfRevision is the precondition "the active revision is rev".
func IfRevision(rev uint64) Precondition { return Precondition{Check: true, Revision: rev} }

// Sources of a write, as an Observer is told them.
const (
	// SourceAPI: Publish (a management API write).
	SourceAPI = "api"
	// SourceFile: a FileWatcher publishing the config file.
	SourceFile = "file"
	// SourceRollback: Rollback republishing an older revision.
	SourceRollback = "rollback"
)

// Observer learns the outcome of every write (metrics): a new revision
// written to the key, or a document refused by validation. A write equal
// to the active revision, a conflict or a KV error is neither.
type Observer interface {
	Published(source string)
	Rejected(source string)
}

// Option tunes a Store.
type Option func(*Store)

// WithObserver tells o about every write.
func WithObserver(o Observer) Option { return func(s *Store) { s.observer = o } }

// Store publishes configuration revisions to one KV key.
type Store struct {
	kv       jetstream.KeyValue
	key      string
	logger   *slog.Logger
	observer Observer
}

// Open creates (or binds to) the KV bucket with History revisions and
// returns a Store writing key.
func Open(ctx context.Context, js jetstream.JetStream, bucket, key string, logger *slog.Logger, opts ...Option) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "semrouter canonical configuration revisions",
		History:     History,
	})
	if err != nil {
		return nil, fmt.Errorf("open kv bucket %q: %w", bucket, err)
	}
	return New(kv, key, logger, opts...), nil
}

// New returns a Store over an existing bucket.
func New(kv jetstream.KeyValue, key string, logger *slog.Logger, opts ...Option) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{kv: kv, key: key, logger: logger}
	for _, o := range opts {
		o(s)
	}
	return s
}

// KV returns the bucket (for watchers).
func (s *Store) KV() jetstream.KeyValue { return s.kv }

// Key returns the key revisions are written to.
func (s *Store) Key() string { return s.key }

// Validate parses and validates doc, returning the config, the canonical
// YAML and every problem. A document with errors returns a *ValidationError.
func Validate(doc []byte, source string) (*config.Config, []byte, config.Problems, error) {
	cfg, probs, err := config.Parse(doc, source)
	if err != nil {
		if !probs.HasErrors() {
			// never reject without saying why: the error text becomes the problem
			probs = append(probs, config.Problem{Severity: config.SeverityError, Message: err.Error()})
		}
		return nil, nil, probs, &ValidationError{Problems: probs, Err: err}
	}
	canon, err := config.Marshal(cfg)
	if err != nil {
		return nil, nil, probs, fmt.Errorf("encode canonical config: %w", err)
	}
	return cfg, canon, probs, nil
}

// Publish validates doc and writes its canonical form as a new revision.
// An invalid document never reaches the bucket. A document equal to the
// active one is not written again (Result.Changed is false). name labels
// the document in problems; the Observer sees the write as SourceAPI.
func (s *Store) Publish(ctx context.Context, doc []byte, name string, pre Precondition) (Result, error) {
	return s.publish(ctx, doc, name, SourceAPI, pre)
}

// publish is Publish on behalf of source (SourceAPI, SourceFile, …).
func (s *Store) publish(ctx context.Context, doc []byte, name, source string, pre Precondition) (Result, error) {
	cfg, canon, probs, err := Validate(doc, name)
	if err != nil {
		var verr *ValidationError
		if s.observer != nil && errors.As(err, &verr) {
			s.observer.Rejected(source)
		}
		return Result{Problems: probs}, err
	}
	res, err := s.write(ctx, cfg, canon, pre)
	res.Problems = append(probs, res.Problems...)
	if err == nil && res.Changed && s.observer != nil {
		s.observer.Published(source)
	}
	return res, err
}

func (s *Store) write(ctx context.Context, cfg *config.Config, canon []byte, pre Precondition) (Result, error) {
	hash := Digest(canon)
	cur, err := s.kv.Get(ctx, s.key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		cur = nil
	case err != nil:
		return Result{}, fmt.Errorf("read active revision: %w", err)
	}
	var curRev uint64
	if cur != nil {
		curRev = cur.Revision()
	}
	if pre.Check && pre.Revision != curRev {
		return Result{}, &ConflictError{Expected: pre.Revision, Current: curRev}
	}
	if cur != nil && bytes.Equal(cur.Value(), canon) {
		return Result{Revision: curRev, Hash: hash}, nil
	}
	var warnings config.Problems
	if cur != nil {
		if p, ok := listenersRemoved(cfg, cur.Value(), curRev); ok {
			warnings = append(warnings, p)
		}
	}
	var rev uint64
	switch {
	case !pre.Check:
		rev, err = s.kv.Put(ctx, s.key, canon)
	case pre.Revision == 0:
		rev, err = s.kv.Create(ctx, s.key, canon)
	default:
		rev, err = s.kv.Update(ctx, s.key, canon, pre.Revision)
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			now, _ := s.activeRevision(ctx)
			return Result{}, &ConflictError{Expected: pre.Revision, Current: now}
		}
		return Result{}, fmt.Errorf("publish revision: %w", err)
	}
	s.logger.Info("config revision published", slog.Uint64("revision", rev), slog.String("hash", hash))
	for _, w := range warnings {
		s.logger.Warn("config revision published with a warning", slog.Uint64("revision", rev), slog.String("warning", w.Error()))
	}
	return Result{Revision: rev, Changed: true, Hash: hash, Problems: warnings}, nil
}

// listenersRemoved warns about a revision that declares no listener while
// the active one (revision rev, document active) declares some: a router
// that serves its own listeners (semrouter serve) would close every API
// port. Validation cannot see this (behind Envoy no listener is needed),
// so it is a warning on the write, not an error.
func listenersRemoved(next *config.Config, active []byte, rev uint64) (config.Problem, bool) {
	if next == nil || len(next.Listeners) > 0 {
		return config.Problem{}, false
	}
	cur, _, err := config.Parse(active, "active revision")
	if err != nil || len(cur.Listeners) == 0 {
		return config.Problem{}, false
	}
	names := make([]string, 0, len(cur.Listeners))
	for _, l := range cur.Listeners {
		names = append(names, fmt.Sprintf("%s:%d", l.Name, l.Port))
	}
	line := next.Line("listeners")
	if line == 0 {
		line = 1
	}
	return config.Problem{Severity: config.SeverityWarning, Path: "listeners", Line: line, Message: fmt.Sprintf(
		"this revision declares no listener but revision %d serves %s: a router that runs its own listeners (semrouter serve) stops accepting API traffic on them; keep the listeners block unless Envoy fronts the router",
		rev, strings.Join(names, ", "))}, true
}

func (s *Store) activeRevision(ctx context.Context) (uint64, error) {
	e, err := s.kv.Get(ctx, s.key)
	if err != nil {
		return 0, err
	}
	return e.Revision(), nil
}

// Current returns the active revision, or ErrNotFound.
func (s *Store) Current(ctx context.Context) (Revision, error) {
	e, err := s.kv.Get(ctx, s.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Revision{}, ErrNotFound
	}
	if err != nil {
		return Revision{}, fmt.Errorf("read active revision: %w", err)
	}
	return toRevision(e), nil
}

// Get returns revision rev, or ErrNotFound when it is not in the history.
func (s *Store) Get(ctx context.Context, rev uint64) (Revision, error) {
	e, err := s.kv.GetRevision(ctx, s.key, rev)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Revision{}, fmt.Errorf("revision %d: %w", rev, ErrNotFound)
	}
	if err != nil {
		return Revision{}, fmt.Errorf("read revision %d: %w", rev, err)
	}
	return toRevision(e), nil
}

// Versions lists the stored revisions, newest first.
func (s *Store) Versions(ctx context.Context) ([]Version, error) {
	entries, err := s.kv.History(ctx, s.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrNoKeysFound) {
		return []Version{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := make([]Version, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Operation() != jetstream.KeyValuePut {
			continue
		}
		out = append(out, Version{
			Revision: e.Revision(),
			Created:  e.Created().UTC(),
			Hash:     Digest(e.Value()),
			Size:     len(e.Value()),
		})
	}
	if len(out) > 0 {
		out[0].Active = true
	}
	return out, nil
}

// Rollback republishes the document of revision rev as a new revision. It
// is validated again first (validation rules may have changed since).
func (s *Store) Rollback(ctx context.Context, rev uint64, pre Precondition) (Result, error) {
	old, err := s.Get(ctx, rev)
	if err != nil {
		return Result{}, err
	}
	res, err := s.publish(ctx, old.Document, fmt.Sprintf("revision %d", rev), SourceRollback, pre)
	if err != nil {
		return res, fmt.Errorf("roll back to revision %d: %w", rev, err)
	}
	return res, nil
}

func toRevision(e jetstream.KeyValueEntry) Revision {
	return Revision{Revision: e.Revision(), Created: e.Created().UTC(), Document: e.Value(), Hash: Digest(e.Value())}
}

// Digest is the content hash of a canonical document: "sha256:<hex>".
func Digest(canon []byte) string {
	sum := sha256.Sum256(canon)
	return "sha256:" + hex.EncodeToString(sum[:])
}
