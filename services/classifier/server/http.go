package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/services/classifier/classifier"
)

// maxJSONBody bounds the JSON endpoints' request bodies.
const maxJSONBody = 4 << 20

// maxConnectBody bounds a Connect request over HTTP (a whole chat
// request's facts may travel in it).
const maxConnectBody = 16 << 20

// Mux serves the Connect handler (Connect, gRPC, gRPC-Web) and the plain
// JSON endpoints:
//
//	POST /api/v1/eval                 {"text"|"messages", "model", …} → decision, signals, projections
//	POST /api/v1/classify/intent      upstream-compatible intent classification
//	POST /api/v1/classify/pii         upstream-compatible PII detection
//	POST /api/v1/classify/security    upstream-compatible jailbreak detection
//	POST /api/v1/classify/combined    intent, PII and jailbreak of one text (batch.go)
//	POST /api/v1/classify/batch       many texts, one task or all (batch.go)
//	GET  /api/v1/classify/info        the revision's models, heads, categories and batch limits (batch.go)
//	GET  /health
func Mux(h *Handler, opts ...connect.HandlerOption) *http.ServeMux {
	mux := http.NewServeMux()
	// Bound Connect bodies as the JSON endpoints are bounded (an option
	// in opts may raise it).
	opts = append([]connect.HandlerOption{connect.WithReadMaxBytes(maxConnectBody)}, opts...)
	path, handler := classifierv1connect.NewClassifierServiceHandler(h, opts...)
	mux.Handle(path, handler)
	mux.HandleFunc("POST /api/v1/eval", h.httpEval)
	mux.HandleFunc("POST /api/v1/classify/intent", h.httpIntent)
	mux.HandleFunc("POST /api/v1/classify/pii", h.httpPII)
	mux.HandleFunc("POST /api/v1/classify/security", h.httpSecurity)
	h.muxBatch(mux)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		if h.svc.Current() == nil {
			writeError(w, http.StatusServiceUnavailable, "NOT_READY", "no config revision loaded yet")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "config_revision": h.svc.Current().Revision()})
	})
	return mux
}

// jsonMessage is an OpenAI-style chat message (content as a string).
type jsonMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// EvalRequest is the body of POST /api/v1/eval: either text (one user
// turn) or messages.
type EvalRequest struct {
	Text             string            `json:"text"`
	Messages         []jsonMessage     `json:"messages"`
	Model            string            `json:"model"`
	Metadata         map[string]string `json:"metadata"`
	User             string            `json:"user"`
	Groups           []string          `json:"groups"`
	QueryEmbedding   []float32         `json:"query_embedding"`
	IncludeUnmatched bool              `json:"include_unmatched"`
}

// EvalDecision is the decision part of the eval answer.
type EvalDecision struct {
	Name            string       `json:"name"`
	Confidence      float64      `json:"confidence"`
	Model           string       `json:"model"`
	ProviderModelID string       `json:"provider_model_id,omitempty"`
	UseReasoning    bool         `json:"use_reasoning"`
	ReasoningEffort string       `json:"reasoning_effort,omitempty"`
	LoRAName        string       `json:"lora_name,omitempty"`
	IsDefault       bool         `json:"is_default"`
	Plugins         []EvalPlugin `json:"plugins"`
	// ModelScores are the selection algorithm's scores of the decision's
	// modelRefs (Evaluation.model_scores); absent when it computes none.
	ModelScores []EvalModelScore `json:"model_scores,omitempty"`
}

// EvalModelScore is the selection algorithm's score of one model.
type EvalModelScore struct {
	Model string  `json:"model"`
	Score float64 `json:"score"`
}

// EvalPlugin is one plugin of the winning decision.
type EvalPlugin struct {
	Type          string         `json:"type"`
	Configuration map[string]any `json:"configuration,omitempty"`
}

// EvalSignal is one rule result.
type EvalSignal struct {
	Name       string  `json:"name"`
	Matched    bool    `json:"matched"`
	Confidence float64 `json:"confidence"`
	Value      float64 `json:"value"`
}

// EvalResponse is the answer of POST /api/v1/eval.
type EvalResponse struct {
	ConfigRevision int64                   `json:"config_revision"`
	Decision       EvalDecision            `json:"decision"`
	Signals        map[string][]EvalSignal `json:"signals"`
	Projections    EvalProjections         `json:"projections"`
	Degraded       []EvalDegraded          `json:"degraded,omitempty"`
}

// EvalProjections are the projection scores and the outputs that fired.
type EvalProjections struct {
	Scores  map[string]float64 `json:"scores"`
	Outputs map[string]float64 `json:"outputs"`
}

// EvalDegraded is a family or stage that could not run fully.
type EvalDegraded struct {
	Stage  string `json:"stage"`
	Family string `json:"family,omitempty"`
	Error  string `json:"error"`
}

func (h *Handler) httpEval(w http.ResponseWriter, r *http.Request) {
	var in EvalRequest
	if !readJSON(w, r, &in) {
		return
	}
	c, err := h.current()
	if err != nil {
		writeConnectError(w, err)
		return
	}
	facts := &classifierv1.RequestFacts{RequestedModel: in.Model, Metadata: in.Metadata}
	text := in.Text
	switch {
	case len(in.Messages) > 0:
		for _, m := range in.Messages {
			facts.Messages = append(facts.Messages, &commonv1.ChatMessage{Role: m.Role, Content: []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: m.Content}}})
			if strings.EqualFold(m.Role, "user") {
				text = m.Content
			}
		}
	case strings.TrimSpace(in.Text) != "":
		facts.Messages = userText(in.Text).Messages
	default:
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "text or messages is required")
		return
	}
	if in.User != "" || len(in.Groups) > 0 {
		facts.Identity = &commonv1.Identity{User: in.User, Groups: in.Groups}
	}
	req := toRequest(c, facts, nil)
	req.IncludeUnmatched = in.IncludeUnmatched
	req.Query = in.QueryEmbedding
	if req.Query == nil {
		req.Query = h.embedText(r.Context(), c, text)
	}
	res, err := h.classify(r.Context(), c, req)
	if err != nil {
		writeConnectError(w, classifyErr(err))
		return
	}
	writeJSON(w, http.StatusOK, NewEvalResponse(res))
}

// classifyOptions is the upstream classify API's options object.
type classifyOptions struct {
	ReturnProbabilities bool    `json:"return_probabilities"`
	ConfidenceThreshold float64 `json:"confidence_threshold"`
	IncludeExplanation  bool    `json:"include_explanation"`
}

type classifyTextRequest struct {
	Text    string           `json:"text"`
	Options *classifyOptions `json:"options"`
}

func (o *classifyOptions) proto() *classifierv1.ClassifyOptions {
	if o == nil {
		return nil
	}
	return &classifierv1.ClassifyOptions{ReturnProbabilities: o.ReturnProbabilities, ConfidenceThreshold: o.ConfidenceThreshold, IncludeExplanation: o.IncludeExplanation}
}

func (h *Handler) httpIntent(w http.ResponseWriter, r *http.Request) {
	var in classifyTextRequest
	if !readJSON(w, r, &in) {
		return
	}
	res, err := h.ClassifyIntent(r.Context(), connect.NewRequest(&classifierv1.ClassifyIntentRequest{Text: in.Text, Options: in.Options.proto()}))
	if err != nil {
		writeConnectError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, intentJSON(res.Msg))
}

// intentJSON is the upstream shape of an intent answer.
func intentJSON(m *classifierv1.ClassifyIntentResponse) map[string]any {
	out := map[string]any{
		"classification": map[string]any{
			"category":           m.GetClassification().GetCategory(),
			"confidence":         m.GetClassification().GetConfidence(),
			"processing_time_ms": m.GetClassification().GetProcessingTimeMs(),
		},
		"recommended_model": m.GetRecommendedModel(),
		"routing_decision":  m.GetRoutingDecision(),
	}
	if len(m.GetProbabilities()) > 0 {
		out["probabilities"] = m.GetProbabilities()
	}
	return out
}

func (h *Handler) httpPII(w http.ResponseWriter, r *http.Request) {
	var in classifyTextRequest
	if !readJSON(w, r, &in) {
		return
	}
	res, err := h.ClassifyPii(r.Context(), connect.NewRequest(&classifierv1.ClassifyPiiRequest{Text: in.Text, Options: in.Options.proto()}))
	if err != nil {
		writeConnectError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, piiJSON(res.Msg))
}

// piiJSON is the upstream shape of a PII answer.
func piiJSON(m *classifierv1.ClassifyPiiResponse) map[string]any {
	ents := make([]map[string]any, 0, len(m.GetEntities()))
	for _, e := range m.GetEntities() {
		ents = append(ents, map[string]any{
			"type": e.GetType(), "value": e.GetValue(), "confidence": e.GetConfidence(),
			"start_position": e.GetStart(), "end_position": e.GetEnd(), "masked_value": "[" + e.GetType() + "]",
		})
	}
	return map[string]any{
		"has_pii": m.GetHasPii(), "entities": ents, "masked_text": m.GetMaskedText(),
		"security_recommendation": m.GetSecurityRecommendation(), "processing_time_ms": m.GetProcessingTimeMs(),
	}
}

func (h *Handler) httpSecurity(w http.ResponseWriter, r *http.Request) {
	var in classifyTextRequest
	if !readJSON(w, r, &in) {
		return
	}
	res, err := h.ClassifySecurity(r.Context(), connect.NewRequest(&classifierv1.ClassifySecurityRequest{Text: in.Text, Options: in.Options.proto()}))
	if err != nil {
		writeConnectError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, securityJSON(res.Msg))
}

// securityJSON is the upstream shape of a jailbreak answer.
func securityJSON(m *classifierv1.ClassifySecurityResponse) map[string]any {
	types := m.GetDetectionTypes()
	if types == nil {
		types = []string{}
	}
	return map[string]any{
		"is_jailbreak": m.GetIsJailbreak(), "risk_score": m.GetRiskScore(), "detection_types": types,
		"confidence": m.GetConfidence(), "recommendation": m.GetRecommendation(), "reasoning": m.GetReasoning(),
		"processing_time_ms": m.GetProcessingTimeMs(),
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_INPUT", "decode request body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the upstream error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "timestamp": time.Now().UTC().Format(time.RFC3339),
	}})
}

func writeConnectError(w http.ResponseWriter, err error) {
	status, code, msg := errorParts(err)
	writeError(w, status, code, msg)
}

// errorParts maps an error to the HTTP status, upstream error code and
// message of the JSON endpoints.
func errorParts(err error) (status int, code, msg string) {
	var ce *connect.Error
	cc := connect.CodeInternal
	msg = err.Error()
	if errors.As(err, &ce) {
		cc, msg = ce.Code(), ce.Message()
	}
	status = http.StatusInternalServerError
	switch cc {
	case connect.CodeInvalidArgument:
		status = http.StatusBadRequest
	case connect.CodeUnavailable:
		status = http.StatusServiceUnavailable
	case connect.CodeFailedPrecondition:
		status = http.StatusPreconditionFailed
	case connect.CodeDeadlineExceeded:
		status = http.StatusGatewayTimeout
	case connect.CodeCanceled:
		status = 499
	}
	return status, strings.ToUpper(cc.String()), msg
}

// NewEvalResponse is the eval answer for one classification result (the
// shape of POST /api/v1/eval and `semrouter eval --json`).
func NewEvalResponse(res *classifier.Result) EvalResponse {
	out := EvalResponse{
		ConfigRevision: res.Revision,
		Decision: EvalDecision{
			Name: res.Decision, Confidence: res.Confidence, Model: res.Model, ProviderModelID: res.ProviderModelID,
			UseReasoning: res.UseReasoning, ReasoningEffort: res.ReasoningEffort, LoRAName: res.LoRAName,
			IsDefault: res.IsDefault, Plugins: []EvalPlugin{},
		},
		Signals:     map[string][]EvalSignal{},
		Projections: EvalProjections{Scores: map[string]float64{}, Outputs: map[string]float64{}},
	}
	for _, p := range res.Plugins {
		out.Decision.Plugins = append(out.Decision.Plugins, EvalPlugin{Type: p.Type, Configuration: p.Configuration})
	}
	for _, m := range res.ModelScores {
		out.Decision.ModelScores = append(out.Decision.ModelScores, EvalModelScore{Model: m.Model, Score: m.Score})
	}
	for _, s := range res.Signals {
		f := string(s.Family)
		out.Signals[f] = append(out.Signals[f], EvalSignal{Name: s.Name, Matched: s.Matched, Confidence: s.Confidence, Value: s.Value})
	}
	for _, s := range res.Scores {
		if !s.Unknown {
			out.Projections.Scores[s.Name] = s.Value
		}
	}
	for _, p := range res.Projections {
		out.Projections.Outputs[p.Name] = p.Confidence
	}
	for _, d := range res.Degraded {
		out.Degraded = append(out.Degraded, EvalDegraded{Stage: d.Stage, Family: string(d.Family), Error: d.Err})
	}
	return out
}
