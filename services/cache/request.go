package cache

import "github.com/semrouter/semrouter/pkg/cachekey"

// The request fingerprints are the shared contract of pkg/cachekey: the
// gateway computes them from the body, the cache keys its tiers on them.
type (
	// ChatRequest is the parsed part of a chat request the cache keys on.
	ChatRequest = cachekey.ChatRequest
	// Message is one chat turn.
	Message = cachekey.Message
	// Fingerprint is a SHA-256 digest of a canonical request form.
	Fingerprint = cachekey.Fingerprint
	// Keys are the lookup keys of one request.
	Keys = cachekey.Keys
)

// ComputeKeys fingerprints req (see cachekey.ComputeKeys).
func ComputeKeys(req *ChatRequest) (Keys, error) { return cachekey.ComputeKeys(req) }

// ExactFingerprint hashes the whole normalised request.
func ExactFingerprint(req *ChatRequest) (Fingerprint, error) { return cachekey.ExactFingerprint(req) }

// ContextFingerprint hashes the request with its last user turn elided.
func ContextFingerprint(req *ChatRequest) (Fingerprint, error) {
	return cachekey.ContextFingerprint(req)
}

// ParseFingerprint decodes a hex digest.
func ParseFingerprint(s string) (Fingerprint, error) { return cachekey.ParseFingerprint(s) }
