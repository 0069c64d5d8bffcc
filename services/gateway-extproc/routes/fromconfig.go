package routes

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// DefaultRetryCount is the retry budget of a model whose
// providers.models[].reliability.retry_count is unset (or 0): one retry,
// so a request survives one failed backend (the next backend of the model
// or the decision's next model).
const DefaultRetryCount = 1

// FromConfig maps a parsed, defaulted v0.3 config to a Spec. Every
// decision of the top-level routing block and of every recipe is kept
// (Decision.Recipe names the recipe). The result still has to pass
// Compile, which checks the cross references.
//
// Field mapping:
//
//	listeners[]                               → Listeners
//	global.router.auto_model_names (+ _name)  → AutoModelNames
//	global.router.include_config_models_in_list: false → HideConfigModels
//	entrypoints[]                             → Entrypoints
//	providers.defaults.*                      → DefaultModel, DefaultReasoningEffort, ReasoningFamilies
//	providers.models[]                        → Models (retry_count: DefaultRetryCount when unset)
//	routing.modelCards[].context_window_size  → Models[].ContextWindow (see contextWindows)
//	routing.modelCards[].modality, capabilities → Models[].TextOnly (see textOnlyModels)
//	routing.decisions[], recipes[].routing.decisions[] → Decisions
//	embedding-dependent signals / semantic response_cache → NeedsEmbedding
//	max reasks[].lookback_turns               → HistoryTurns
//	global.router.streamed_body.max_bytes     → MaxBodyBytes
//	global.router.streamed_body.enabled, timeout_sec → StreamedBody
//	global.services.authz.identity            → Identity
//	global.services.response_api              → Responses
//	global.services.ratelimit                 → RateLimit (see attachRateLimit)
//	global.router.learning.protection         → Sticky (see StickyFromConfig)
//	global.services.observability.metrics.windowed_metrics → Windows (see WindowsFromConfig)
//	global.stores.vector_store                → VectorStore (see vectorStoreFromConfig)
func FromConfig(cfg *config.Config, revision uint64) (Spec, error) {
	if cfg == nil {
		return Spec{}, errors.New("routes from config: config is nil")
	}
	spec := Spec{
		Revision:               strconv.FormatUint(revision, 10),
		AutoModelNames:         cfg.AutoModelNames(),
		HideConfigModels:       cfg.Global.Router.IncludeConfigModelsInList != nil && !*cfg.Global.Router.IncludeConfigModelsInList,
		DefaultModel:           cfg.Providers.Defaults.DefaultModel,
		DefaultReasoningEffort: cfg.Providers.Defaults.DefaultReasoningEffort,
	}
	for _, l := range cfg.Listeners {
		spec.Listeners = append(spec.Listeners, Listener{Name: l.Name, Address: l.Address, Port: l.Port, Timeout: l.Timeout.Std()})
	}
	for _, e := range cfg.Entrypoints {
		spec.Entrypoints = append(spec.Entrypoints, Entrypoint{ModelNames: append([]string(nil), e.ModelNames...), Recipe: e.Recipe})
	}
	if fams := cfg.Providers.Defaults.ReasoningFamilies; len(fams) > 0 {
		spec.ReasoningFamilies = make(map[string]ReasoningFamily, len(fams))
		for name, f := range fams {
			spec.ReasoningFamilies[name] = ReasoningFamily{Type: f.Type, Parameter: f.Parameter}
		}
	}
	windows := contextWindows(cfg)
	textOnly := textOnlyModels(cfg)
	for _, m := range cfg.Providers.Models {
		mm := modelFromConfig(m)
		mm.ContextWindow = windows[m.Name]
		mm.TextOnly = textOnly[m.Name]
		spec.Models = append(spec.Models, mm)
	}
	store := cfg.Global.Stores.ResponseCache
	if store == nil {
		store = cfg.Global.Stores.SemanticCache
	}
	addDecisions := func(recipe string, r *config.Routing) {
		for i := range r.Decisions {
			d := decisionFromConfig(recipe, &r.Decisions[i], store)
			spec.Decisions = append(spec.Decisions, d)
			if rc := d.Plugins.ResponseCache; rc != nil && rc.Enabled && rc.Semantic() {
				spec.NeedsEmbedding = true
			}
			if r.Decisions[i].SelectsByEmbedding() {
				spec.NeedsEmbedding = true
			}
		}
		if needsEmbedding(r) {
			spec.NeedsEmbedding = true
		}
		for _, rs := range r.Signals.Reasks {
			spec.HistoryTurns = max(spec.HistoryTurns, rs.LookbackTurns, 1)
		}
	}
	addDecisions("", &cfg.Routing)
	for i := range cfg.Recipes {
		addDecisions(cfg.Recipes[i].Name, &cfg.Recipes[i].Routing)
	}
	if err := attachTools(cfg, &spec); err != nil {
		return Spec{}, err
	}
	if err := attachCompression(cfg, &spec); err != nil {
		return Spec{}, err
	}
	if err := attachRAG(cfg, &spec); err != nil {
		return Spec{}, err
	}
	if err := attachMemory(cfg, &spec); err != nil {
		return Spec{}, err
	}
	if err := attachImageGen(cfg, &spec); err != nil {
		return Spec{}, err
	}
	if err := attachRateLimit(cfg, &spec); err != nil {
		return Spec{}, err
	}
	spec.Replay = ReplayStoreFromConfig(cfg.Global.Services.RouterReplay)
	spec.Sticky = StickyFromConfig(cfg.Global.Router.Learning)
	spec.Windows = WindowsFromConfig(cfg)
	if sb := cfg.Global.Router.StreamedBody; sb != nil {
		if sb.MaxBytes > 0 {
			spec.MaxBodyBytes = sb.MaxBytes
		}
		spec.StreamedBody = StreamedBody{Enabled: sb.Enabled, Timeout: time.Duration(sb.TimeoutSec) * time.Second}
	}
	spec.Identity.UserIDHeader, spec.Identity.UserGroupsHeader = cfg.IdentityHeaders()
	spec.Responses = responsesFromConfig(cfg)
	spec.VectorStore = vectorStoreFromConfig(cfg)
	return spec, nil
}

// needsEmbedding reports whether a routing profile has signals or
// projection inputs the classifier evaluates on the query embedding
// (knowledge bases, described families and kb_metric inputs included).
func needsEmbedding(r *config.Routing) bool {
	s := &r.Signals
	if len(s.Embeddings) > 0 || len(s.Complexity) > 0 || len(s.Reasks) > 0 ||
		len(s.Preferences) > 0 || len(s.Domains) > 0 || len(s.KB) > 0 ||
		len(s.FactCheck) > 0 || len(s.UserFeedbacks) > 0 {
		return true
	}
	for _, sc := range r.Projections.Scores {
		for _, in := range sc.Inputs {
			if in.Type == "kb_metric" {
				return true
			}
		}
	}
	return false
}

func modelFromConfig(m config.Model) Model {
	out := Model{Name: m.Name, ProviderModelID: m.ProviderModelID, ReasoningFamily: m.ReasoningFamily, RetryCount: DefaultRetryCount,
		APIFormat: m.APIFormat}
	if p := m.Pricing; p != nil {
		out.Price = p.PromptPer1M + p.CompletionPer1M
		out.Pricing = pricingFromConfig(p)
	}
	if r := m.Reliability; r != nil {
		if r.RetryCount > 0 {
			out.RetryCount = r.RetryCount
		}
		out.Outlier = Outlier{Consecutive5xx: r.Consecutive5xx, BaseEjectionTime: r.BaseEjectionTime.Std(),
			MaxEjectionPercent: r.MaxEjectionPercent}
	}
	for _, b := range m.BackendRefs {
		be := Backend{Name: b.Name, Endpoint: b.Endpoint, BaseURL: b.BaseURL, Protocol: b.Protocol, Weight: b.Weight,
			ChatPath: b.ChatPath, APIKey: b.APIKey, APIKeyEnv: b.APIKeyEnv, AuthHeader: b.AuthHeader, AuthPrefix: b.AuthPrefix,
			APIVersion: b.APIVersion}
		if len(b.ExtraHeaders) > 0 {
			be.ExtraHeaders = make(map[string]string, len(b.ExtraHeaders))
			for k, v := range b.ExtraHeaders {
				be.ExtraHeaders[k] = v
			}
		}
		out.Backends = append(out.Backends, be)
	}
	return out
}

func decisionFromConfig(recipe string, d *config.Decision, store *config.ResponseCacheStore) Decision {
	out := Decision{Recipe: recipe, Name: d.Name, Algorithm: d.Algorithm}
	for _, ref := range d.ModelRefs {
		out.ModelRefs = append(out.ModelRefs, ModelRef{Model: ref.Model,
			UseReasoning: ref.UseReasoning != nil && *ref.UseReasoning, ReasoningEffort: ref.ReasoningEffort})
	}
	for _, p := range d.Plugins {
		switch {
		case p.SystemPrompt() != nil:
			sp := p.SystemPrompt()
			out.Plugins.SystemPrompt = &SystemPromptPlugin{Enabled: sp.IsEnabled(), Mode: sp.Mode, SystemPrompt: sp.SystemPrompt}
		case p.HeaderMutation() != nil:
			hm := p.HeaderMutation()
			m := &HeaderMutationPlugin{Delete: append([]string(nil), hm.Delete...)}
			for _, h := range hm.Add {
				m.Add = append(m.Add, Header{Name: h.Name, Value: h.Value})
			}
			for _, h := range hm.Update {
				m.Update = append(m.Update, Header{Name: h.Name, Value: h.Value})
			}
			out.Plugins.HeaderMutation = m
		case p.RequestParams() != nil:
			rp := p.RequestParams()
			out.Plugins.RequestParams = &RequestParamsPlugin{BlockedParams: append([]string(nil), rp.BlockedParams...),
				MaxTokensLimit: int64(rp.MaxTokensLimit), MaxN: int64(rp.MaxN)}
		case p.FastResponse() != nil:
			out.Plugins.FastResponse = &FastResponsePlugin{Message: p.FastResponse().Message}
		case p.ResponseCache() != nil:
			out.Plugins.ResponseCache = cacheFromConfig(p.ResponseCache(), store)
		default:
			responsePluginFromConfig(p, &out.Plugins)
		}
	}
	return out
}

// cacheFromConfig maps a response_cache plugin; the similarity threshold
// and TTL fall back to global.stores.response_cache, then to the config
// defaults.
func cacheFromConfig(rc *config.ResponseCachePlugin, store *config.ResponseCacheStore) *ResponseCachePlugin {
	out := &ResponseCachePlugin{Enabled: rc.IsEnabled(), Mode: rc.Mode, Scope: rc.Scope}
	switch {
	case rc.Threshold() != nil:
		out.SimilarityThreshold = float32(*rc.Threshold())
	case store != nil && store.SimilarityThreshold != nil:
		out.SimilarityThreshold = float32(*store.SimilarityThreshold)
	default:
		out.SimilarityThreshold = config.DefaultCacheSimilarity
	}
	switch {
	case rc.TTLSeconds > 0:
		out.TTL = time.Duration(rc.TTLSeconds) * time.Second
	case store != nil && store.TTLSeconds > 0:
		out.TTL = time.Duration(store.TTLSeconds) * time.Second
	}
	if c := rc.RequestControls; c != nil && c.Enabled {
		out.Controls = &CacheControls{Header: strings.ToLower(c.Header), Allowed: append([]string(nil), c.Allowed...),
			MaxTTL: time.Duration(c.MaxTTLSeconds) * time.Second}
	}
	if r := rc.Revision; r != nil && (r.CacheEpoch != "" || r.ModelRevision != "" || r.PromptRevision != "" || r.PolicyRevision != "") {
		out.Revision = strings.Join([]string{r.CacheEpoch, r.ModelRevision, r.PromptRevision, r.PolicyRevision}, "|")
	}
	return out
}

// pricingFromConfig compiles a pricing block: an unset currency is USD,
// unset cached-input and cache-write prices are the prompt price.
func pricingFromConfig(p *config.Pricing) *Pricing {
	out := &Pricing{Currency: config.PricingCurrency(p), Prompt: p.PromptPer1M,
		CachedInput: p.CachedInputPer1M, CacheWrite: p.CacheWritePer1M, Completion: p.CompletionPer1M}
	if out.CachedInput == 0 {
		out.CachedInput = out.Prompt
	}
	if out.CacheWrite == 0 {
		out.CacheWrite = out.Prompt
	}
	return out
}
