package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/heuristic/pii"
)

// Task types of POST /api/v1/classify/batch.
const (
	taskIntent   = "intent"
	taskPII      = "pii"
	taskSecurity = "security"
	taskAll      = "all"
)

var taskTypes = []string{taskIntent, taskPII, taskSecurity, taskAll}

func (h *Handler) muxBatch(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/classify/batch", h.httpBatch)
	mux.HandleFunc("POST /api/v1/classify/combined", h.httpCombined)
	mux.HandleFunc("GET /api/v1/classify/info", h.httpInfo)
}

// batchRequest is the body of POST /api/v1/classify/batch.
type batchRequest struct {
	Texts []string `json:"texts"`
	// TaskType is intent (default), pii, security or all.
	TaskType string           `json:"task_type"`
	Options  *classifyOptions `json:"options"`
}

// batchResponse is the answer of POST /api/v1/classify/batch: one result
// per text, in order.
type batchResponse struct {
	Results          []map[string]any `json:"results"`
	TotalCount       int              `json:"total_count"`
	TaskType         string           `json:"task_type"`
	ProcessingTimeMs int64            `json:"processing_time_ms"`
	Statistics       batchStatistics  `json:"statistics"`
}

type batchStatistics struct {
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	// CategoryDistribution counts the intent categories (intent and all).
	CategoryDistribution map[string]int `json:"category_distribution,omitempty"`
}

// readStrictJSON decodes one JSON object, rejecting unknown fields and
// trailing data, so a misspelt field is named in the 400.
func readStrictJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "decode request body: "+err.Error())
		return false
	}
	return true
}

func (h *Handler) httpBatch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var in batchRequest
	if !readStrictJSON(w, r, &in) {
		return
	}
	task := in.TaskType
	if task == "" {
		task = taskIntent
	}
	switch {
	case in.Texts == nil:
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "texts is required: a list of strings")
		return
	case len(in.Texts) == 0:
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "texts must not be empty")
		return
	case !isTaskType(task):
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", fmt.Sprintf("task_type %q is unknown (expected one of %s)", in.TaskType, strings.Join(taskTypes, ", ")))
		return
	}
	c, err := h.current()
	if err != nil {
		writeConnectError(w, err)
		return
	}
	s := h.batchSettingsFor(c)
	if len(in.Texts) > s.maxSize {
		writeError(w, http.StatusBadRequest, "BATCH_TOO_LARGE", fmt.Sprintf(
			"texts has %d entries; at most %d per batch (global.services.api.batch_classification.max_batch_size)", len(in.Texts), s.maxSize))
		return
	}
	results := h.classifyBatch(r.Context(), c, s, in.Texts, task, in.Options.proto())
	out := batchResponse{Results: results, TotalCount: len(results), TaskType: task}
	if task == taskIntent || task == taskAll {
		out.Statistics.CategoryDistribution = map[string]int{}
	}
	for _, res := range results {
		if itemFailed(res) {
			out.Statistics.Failed++
		} else {
			out.Statistics.Succeeded++
		}
		if out.Statistics.CategoryDistribution != nil {
			if cat, ok := intentCategory(res); ok {
				out.Statistics.CategoryDistribution[cat]++
			}
		}
	}
	d := time.Since(start)
	out.ProcessingTimeMs = d.Milliseconds()
	h.recordBatch(s, len(in.Texts), out.Statistics.Failed, d)
	writeJSON(w, http.StatusOK, out)
}

func isTaskType(t string) bool {
	for _, k := range taskTypes {
		if t == k {
			return true
		}
	}
	return false
}

// recordBatch records one batch in the metrics when they are enabled and
// the batch is sampled.
func (h *Handler) recordBatch(s *batchSettings, size, failed int, d time.Duration) {
	if !s.metrics || (s.sampleRate < 1 && h.sample() >= s.sampleRate) {
		return
	}
	h.metrics.batchSeries().Observe(size, s.rangeLabel(size), d, failed)
}

// classifyBatch classifies texts for task. Batches of at most
// s.threshold texts run one text after the other; larger ones run on at
// most s.maxConc workers. The query embeddings of intent and all are
// computed in one embedder call before.
func (h *Handler) classifyBatch(ctx context.Context, c *classifier.Classifier, s *batchSettings, texts []string, task string, opts *classifierv1.ClassifyOptions) []map[string]any {
	var qs [][]float32
	if task == taskIntent || task == taskAll {
		qs = h.embedTexts(ctx, c, texts)
	}
	out := make([]map[string]any, len(texts))
	run := func(i int) {
		if err := ctx.Err(); err != nil {
			out[i] = errorItem(classifyErr(err))
		} else {
			if h.batchHook != nil {
				defer h.batchHook(i)()
			}
			var q []float32
			if qs != nil {
				q = qs[i]
			}
			out[i] = h.batchItem(ctx, c, texts[i], q, task, opts)
		}
		out[i]["index"] = i
	}
	if len(texts) <= s.threshold || s.maxConc == 1 {
		for i := range texts {
			run(i)
		}
		return out
	}
	workers := min(s.maxConc, len(texts))
	track := s.metrics && s.goroutines
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			if track {
				h.metrics.batchSeries().Goroutines(1)
				defer h.metrics.batchSeries().Goroutines(-1)
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(texts) {
					return
				}
				run(i)
			}
		})
	}
	wg.Wait()
	return out
}

// batchItem is the answer for one text: the single-text endpoint's answer
// for task, or {"error": …}; for all, the combined answer.
func (h *Handler) batchItem(ctx context.Context, c *classifier.Classifier, text string, q []float32, task string, opts *classifierv1.ClassifyOptions) map[string]any {
	start := h.now()
	switch task {
	case taskIntent:
		return h.intentItem(ctx, c, text, q, opts, start)
	case taskPII:
		return piiJSON(h.detectPII(text, opts, start))
	case taskSecurity:
		return h.securityItem(ctx, c, text, opts, start)
	}
	return h.combined(ctx, c, text, q, opts, start)
}

func (h *Handler) intentItem(ctx context.Context, c *classifier.Classifier, text string, q []float32, opts *classifierv1.ClassifyOptions, start time.Time) map[string]any {
	if strings.TrimSpace(text) == "" {
		return errorItem(connect.NewError(connect.CodeInvalidArgument, errors.New("text is empty")))
	}
	res, err := h.intent(ctx, c, text, q, opts, start)
	if err != nil {
		return errorItem(err)
	}
	return intentJSON(res)
}

func (h *Handler) securityItem(ctx context.Context, c *classifier.Classifier, text string, opts *classifierv1.ClassifyOptions, start time.Time) map[string]any {
	res, err := h.security(ctx, c, text, opts, start)
	if err != nil {
		return errorItem(err)
	}
	return securityJSON(res)
}

// combined is the intent, PII and jailbreak answers of one text, each the
// single endpoint's answer or {"error": …}.
func (h *Handler) combined(ctx context.Context, c *classifier.Classifier, text string, q []float32, opts *classifierv1.ClassifyOptions, start time.Time) map[string]any {
	return map[string]any{
		taskIntent:   h.intentItem(ctx, c, text, q, opts, start),
		taskPII:      piiJSON(h.detectPII(text, opts, start)),
		taskSecurity: h.securityItem(ctx, c, text, opts, start),
	}
}

// errorItem is the {"error": {"code", "message"}} of one failed item.
func errorItem(err error) map[string]any {
	_, code, msg := errorParts(err)
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

// itemFailed reports whether a batch result (or a part of an all result)
// is an error.
func itemFailed(res map[string]any) bool {
	if _, ok := res["error"]; ok {
		return true
	}
	for _, k := range []string{taskIntent, taskPII, taskSecurity} {
		if part, ok := res[k].(map[string]any); ok {
			if _, bad := part["error"]; bad {
				return true
			}
		}
	}
	return false
}

// intentCategory is the intent category of an intent or all result.
func intentCategory(res map[string]any) (string, bool) {
	if part, ok := res[taskIntent].(map[string]any); ok {
		res = part
	}
	cl, ok := res["classification"].(map[string]any)
	if !ok {
		return "", false
	}
	cat, ok := cl["category"].(string)
	return cat, ok
}

// embedTexts embeds the non-blank texts in one embedder call and returns
// one vector per text (nil for blank texts, and for every text when there
// is no embedder for c's model or the call fails: intent then answers
// unavailable per text, as the single endpoint does).
func (h *Handler) embedTexts(ctx context.Context, c *classifier.Classifier, texts []string) [][]float32 {
	out := make([][]float32, len(texts))
	if h.emb == nil || h.emb.Model() != c.EmbeddingModel() {
		return out
	}
	var idx []int
	var batch []string
	for i, t := range texts {
		if strings.TrimSpace(t) != "" {
			idx = append(idx, i)
			batch = append(batch, t)
		}
	}
	if len(batch) == 0 {
		return out
	}
	vs, err := h.emb.Embed(ctx, batch)
	if err != nil || len(vs) != len(batch) {
		h.logger.WarnContext(ctx, "embed batch", slog.Int("texts", len(batch)), slog.Any("error", err))
		return out
	}
	for k, i := range idx {
		out[i] = vs[k]
	}
	return out
}

func (h *Handler) httpCombined(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	var in classifyTextRequest
	if !readStrictJSON(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.Text) == "" {
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "text is required")
		return
	}
	c, err := h.current()
	if err != nil {
		writeConnectError(w, err)
		return
	}
	out := h.combined(r.Context(), c, in.Text, h.embedText(r.Context(), c, in.Text), in.Options.proto(), start)
	out["processing_time_ms"] = time.Since(start).Milliseconds()
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) httpInfo(w http.ResponseWriter, _ *http.Request) {
	c, err := h.current()
	if err != nil {
		writeConnectError(w, err)
		return
	}
	intent := map[string]any{"available": false, "categories": []string{}}
	if model, labels, ok := c.DomainHead(); ok {
		intent["head_model"] = model
		intent["categories"] = labels
		intent["available"] = h.emb != nil && c.EmbeddingModel() != "" && h.emb.Model() == c.EmbeddingModel()
	}
	security := "none"
	switch {
	case c.HasJailbreakRules():
		security = "config jailbreak rules"
	case h.jailbreak != nil:
		security = "jailbreak model"
	}
	s := h.batchSettingsFor(c)
	writeJSON(w, http.StatusOK, map[string]any{
		"config_revision": c.Revision(),
		"embedding_model": c.EmbeddingModel(),
		"intent":          intent,
		"pii":             map[string]any{"entity_types": pii.Types()},
		"security":        map[string]any{"source": security, "available": security != "none"},
		"batch": map[string]any{
			"max_batch_size": s.maxSize, "concurrency_threshold": s.threshold, "max_concurrency": s.maxConc,
			"metrics_enabled": s.metrics, "task_types": taskTypes,
		},
	})
}
