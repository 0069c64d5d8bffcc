// Package cache holds the semantic and exact response cache's domain model:
// request fingerprints, partitions, the per-decision policy and the
// x-vsr-cache-control request controls, the Backend contract every storage
// backend implements, and Cache, which applies a policy over a Backend.
//
// An entry is found in one of two tiers, always within its partition
// (revision, decision, selected model, the scope's identity, stream flag):
//
//   - exact: the fingerprint of the whole normalised request (system prompt,
//     full message history, tools, response_format, generation parameters,
//     protocol; never the model name) must match;
//   - semantic: the context fingerprint (everything but the last user turn)
//     must match, and the embedding of the last user turn must be at least
//     the policy's similarity threshold from the stored one.
package cache
