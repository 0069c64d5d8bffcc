package classifier

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/llmlabel"
)

// DefaultFamilyTimeout bounds the heuristic families of one request.
const DefaultFamilyTimeout = 200 * time.Millisecond

// Option tunes Compile.
type Option func(*options)

type options struct {
	logger       *slog.Logger
	revision     int64
	jailbreak    heuristic.JailbreakScorer
	modality     heuristic.ModalityClassifier
	highAccuracy bool
	languages    []string
	headDir      string
	heads        map[string]*domain.Head
	latency      selection.LatencyStats
	load         selection.LoadSource
	timeout      time.Duration
	kbDir        string
	httpClient   *http.Client
	llmCache     *llmlabel.Cache
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRevision records the config revision the classifier is compiled from.
func WithRevision(rev int64) Option { return func(o *options) { o.revision = rev } }

// WithJailbreakScorer plugs in the model-based jailbreak scorer used by
// jailbreak rules with method classifier or hybrid.
func WithJailbreakScorer(s heuristic.JailbreakScorer) Option {
	return func(o *options) { o.jailbreak = s }
}

// WithModalityClassifier plugs in a model-based modality classifier.
func WithModalityClassifier(m heuristic.ModalityClassifier) Option {
	return func(o *options) { o.modality = m }
}

// WithHighAccuracyLanguageDetection uses lingua's full (high-accuracy)
// mode instead of the default low-accuracy trigram mode: better on short
// texts, several times the memory and time.
func WithHighAccuracyLanguageDetection() Option { return func(o *options) { o.highAccuracy = true } }

// WithDetectorLanguages replaces the extra languages the language detector
// distinguishes besides those the rules name.
func WithDetectorLanguages(codes ...string) Option {
	return func(o *options) { o.languages = codes }
}

// WithDomainHeadDir loads the domain head for the Embedder's model from
// dir (see DomainHeadPath) when the file exists.
func WithDomainHeadDir(dir string) Option { return func(o *options) { o.headDir = dir } }

// WithDomainHead provides a trained domain head directly (it wins over
// WithDomainHeadDir when its Model is the Embedder's model).
func WithDomainHead(h *domain.Head) Option {
	return func(o *options) {
		if o.heads == nil {
			o.heads = map[string]*domain.Head{}
		}
		o.heads[h.Model] = h
	}
}

// WithLatency sets the latency statistics latency_aware and multi_factor
// read; pass the service's shared *selection.Window so observations survive
// config revisions.
func WithLatency(s selection.LatencyStats) Option { return func(o *options) { o.latency = s } }

// WithLoad sets the in-flight source multi_factor reads.
func WithLoad(l selection.LoadSource) Option { return func(o *options) { o.load = l } }

// WithFamilyTimeout bounds the heuristic families of one request (default
// DefaultFamilyTimeout); families not done by then report the deadline.
func WithFamilyTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithKBDir sets the folder relative knowledge-base source paths
// (global.model_catalog.kbs[].source.path) are resolved against, e.g. for
// revisions published over NATS, which have no file of their own. Without
// it they resolve against the config file's folder when the config was
// read from a file, else against the working directory.
func WithKBDir(dir string) Option { return func(o *options) { o.kbDir = dir } }

// WithHTTPClient sets the client `type: llm` classifiers call their
// external models with (default: a plain http.Client; each call is bounded
// by llm_timeout_seconds and the request deadline).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithClassifierCache sets the cache of `type: llm` classifier answers;
// pass one shared cache so answers survive config revisions (default: a
// new cache of llmlabel.DefaultCacheSize answers kept
// llmlabel.DefaultCacheTTL, per revision).
func WithClassifierCache(c *llmlabel.Cache) Option { return func(o *options) { o.llmCache = c } }

// DomainHeadPath is where the domain head for an embedding model lives in a
// head directory: "<dir>/<model>.json", with every character of the model
// name outside [A-Za-z0-9._-] replaced by '_' (so "BAAI/bge-small" is
// "BAAI_bge-small.json").
func DomainHeadPath(dir, model string) string {
	var b strings.Builder
	for _, r := range model {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return filepath.Join(dir, b.String()+".json")
}
