// Package config is semrouter's v0.3 configuration contract: Go types for
// the whole canonical document (version, listeners, providers, routing,
// entrypoints, recipes, global), a strict decoder, defaults, validation,
// canonical marshalling and migration from legacy layouts.
//
// Reading a file:
//
//	cfg, problems, err := config.Load("config.yaml")
//	// err != nil (wrapping ErrInvalid) when any problem is an error;
//	// problems also carries warnings, each with a YAML path and line.
//
// Parse = Decode (strict: an unknown key or a wrong type is an error naming
// its path and line) + ApplyDefaults (the one place defaults live) +
// Validate (every problem, not just the first). Features the schema knows
// but semrouter does not implement are accepted, kept and reported as
// warnings; they are declared with struct tags (`sr:"signal"`,
// `sr:"unimplemented"`, with an optional `srnote:"why"` added to the
// message) and in the plugin and algorithm tables (PluginImplemented,
// AlgorithmImplemented). Values of used fields that semrouter does not
// honour (an always-on switch set to false, api_format: anthropic, ...) are
// reported by validate_effects.go. A field present in the upstream reference
// config that no service reads must carry one of these, so no setting is
// silently dropped.
//
// Documents that are not v0.3 configs get one clear error: a SemanticRouter
// manifest (single or multi-document) names `semrouter config migrate`, and
// any other Kubernetes object (the operator's CRD, a Deployment) is named by
// its kind.
//
// Marshal writes the canonical YAML (schema order, sorted map keys, every
// field kept, implemented or not); MarshalJSON the same tree as JSON; Hash
// a stable "sha256:<hex>" of the canonical form. Migrate converts the v0.1
// flat layout, the v0.2 CLI layout, the operator's spec.config schema and
// whole SemanticRouter manifests to canonical v0.3.
//
// A *Config is not modified after Parse returns and is safe for concurrent
// readers.
package config
