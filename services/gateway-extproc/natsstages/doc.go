// Package natsstages implements the gateway's stage interfaces
// (gateway.Embedder, Classifier, Cache, LatencyPublisher) over NATS, with
// the generated Connect clients carried by pkg/natsrpc:
//
//   - Embedder → semrouter.embedding.v1.EmbeddingService/Embed, on the
//     subject of the configured model's pool (subjects.EmbedModel), or the
//     plain subject (the pool's default model) when no model is named;
//   - Classifier → semrouter.classifier.v1.ClassifierService/Classify;
//   - Cache → semrouter.cache.v1.CacheService/Lookup, and writes published
//     as StoreRequest on the cache writes stream (subjects.CacheWrite), or
//     CacheService/Store when that stream does not exist;
//   - LatencyPublisher → a classifier.v1.LatencyObservation published on
//     subjects.Latency(model) (fire and forget).
//
// Every call honours its context's deadline (the gateway's stage
// timeout), which natsrpc forwards to the handler. Transport failures come
// back as errors wrapping gateway.ErrStageUnavailable or
// gateway.ErrStageTimeout; the gateway then degrades the stage
// (x-vsr-degraded) instead of failing the request.
package natsstages
