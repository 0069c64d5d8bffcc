// Package heuristic evaluates the signal families that need no embedding:
// keywords, structure, context, language, PII, jailbreak (pattern part),
// conversation, metadata, role bindings (authz) and modality.
//
// Rules are compiled once (regexes, lowercased keywords, BM25 statistics,
// n-gram tables, language models) into an immutable Evaluator that any
// number of goroutines share. Each request is read through one prepared
// Request (current user turn, its lowercase form and word spans, text
// units, conversation counts, token estimate), and Evaluate returns one
// signal.Outcome per family that has rules.
//
// Which text each family reads:
//   - keywords, structure, language, modality: the current (last) user turn;
//   - PII and jailbreak: the current user turn, plus every earlier user turn
//     for rules with include_history;
//   - context: every message (the estimate of the prompt the model will see);
//   - conversation, metadata, role bindings: the request shape, metadata and
//     identity, not text.
//
// Semantics follow the upstream vLLM Semantic Router where it is known;
// deliberate differences are documented on each rule type (notably: the
// "fuzzy" keyword method the reference config uses is a 0–100 ratio, while
// fuzzy_match on literal rules is an edit distance as upstream; keyword and
// prefix matching for modality uses word boundaries; structure confidence
// measures the margin to the nearest bound of a combined predicate).
//
// Model-backed scorers plug in through consumer-owned interfaces
// (JailbreakScorer, ModalityClassifier); without them, hybrid methods fall
// back to the heuristics and classifier-only methods report an error in the
// family's Outcome so decisions can apply their on_error policy.
package heuristic
