// Package server is the cache service: one replica of the response cache,
// answering semrouter.cache.v1.CacheService over NATS (queue group, so
// lookups are balanced over the replicas) and over HTTP (Connect).
//
// # Replication
//
// Writes travel through the JetStream stream CACHE_WRITES
// (subjects.CacheWritesStream, subjects subjects.CacheWritesAll): the
// gateway publishes a StoreRequest on subjects.CacheWrite(decision), and
// Store publishes the same message after validating it. Every replica
// creates the stream if needed (file storage, MaxAge = the store TTL) and
// consumes all of it with its own ordered, ephemeral consumer into its
// local backend (memory / jetstream), so a new replica catches up from the
// stream and killing a replica loses nothing. Entries take their creation
// time from the response's stored_at (else the stream timestamp), so
// every replica expires them at the same time.
//
// Replicas whose backend is a shared store (redis, valkey, hybrid, milvus)
// apply each write once instead: they pull from one durable consumer
// named after the store (a work queue), and Store writes the store
// synchronously. Every replica then answers exact lookups from the store;
// the in-process vector index of a Redis-backed replica only learns the
// writes it applied itself until it restarts (a limitation of the Redis
// backend, which has no way to index an entry written elsewhere).
//
// Without JetStream a replica stores the writes it receives itself.
//
// Invalidations and flushes are applied by the replica that receives them
// and broadcast on subjects.CacheControl to every other replica. A flush
// also purges the stream; an invalidation of a whole decision (no
// older_than) purges that decision's writes from the stream. Replicas
// remember recent invalidations with the stream sequence they were made
// at and skip matching writes up to it while replaying, so a rebuild does
// not bring invalidated entries back; a replica started later can still
// replay writes of a narrower invalidation (a single partition) that are
// in the stream, until the stream's MaxAge drops them.
//
// # Lookups with alternatives
//
// A LookupRequest with alternatives (the gateway's speculative lookup,
// made while its classifier runs) is answered by looking the same query up
// in each listed partition, one backend lookup each, so every backend
// supports it unchanged; the response holds one candidate per alternative,
// in order, and hit = any candidate hit. At most MaxAlternatives are
// accepted (InvalidArgument above). The backend lookups are peeks
// (cache.Query.Peek): they count nothing and record no use of an entry,
// since only the caller knows which candidate it serves. The request is
// counted once, in the backend's counters (shared ones for redis and
// valkey), in Stats and in the metrics:
//
//   - with report_served, by the caller's Served report: one hit, whose
//     entry's use is recorded by the eviction policy (LRU/LFU) through
//     Backend.Record, or one miss; a lookup never reported (the request
//     was blocked, or its decision does not cache) is not counted;
//   - without it (an older caller), here: a hit on the first candidate
//     that hit, whose use is recorded, else a miss.
//
// The entry_id of a candidate names its partition (a short digest) and
// its exact fingerprint, which is how Served finds the entry; an id of
// another partition is refused, one of an entry gone since is counted as
// reported and changes nothing else.
//
// # Config
//
// Run watches the config KV (configwatch) and compiles
// global.stores.response_cache (or the legacy semantic_cache) into
// Settings. A revision with the same store settings changes nothing. Other
// settings build a new backend (a revision whose backend cannot be built
// is rejected and reported; the old one keeps serving) and swap it in:
//
//   - memory / jetstream: the new backend starts empty and is refilled
//     from the stream (lookups may miss until it has caught up); without a
//     stream the entries are lost;
//   - redis, valkey, hybrid, milvus: the entries live in the store and are
//     found again (hybrid rebuilds its memory tier from Redis on demand); a
//     store with a new identity (address, database, prefix, collection)
//     gets a new durable consumer, which fills it from the whole stream.
//
// The embedding dimension comes from the store's vector_field.dimension or
// the embedding endpoint's dimensions; when neither is set it is learnt
// from the first embedding written, which rebuilds the backend once.
//
// # Wire mapping
//
// The wire partition maps onto cache.Partition: recipe and revision are
// folded (length-prefixed) into the revision, the scope id goes to the
// tenant, team or user field its scope names. CachedResponse fields the
// core Response lacks (model, usage, sse) travel as reserved ':'-prefixed
// header entries. An invalidation filter whose partition sets only
// decision matches that decision everywhere; one that sets any other field
// matches exactly that partition (the core filter matches a whole
// partition or a decision; field-wise wildcards are not supported).
package server
