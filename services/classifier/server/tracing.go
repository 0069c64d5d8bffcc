package server

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/services/classifier/classifier"
)

// Span names (the upstream router's span vocabulary).
const (
	SpanSignalEvaluation   = "semantic_router.signal.evaluation"
	SpanDecisionEvaluation = "semantic_router.decision.evaluation"
)

const tracerName = "github.com/semrouter/semrouter/services/classifier/server"

// traceClassification records the signal and decision evaluation of one
// classification as two consecutive child spans of ctx's span, timed from
// the result's stage timings.
func traceClassification(ctx context.Context, tr trace.Tracer, start time.Time, res *classifier.Result, err error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		// The request is not traced (or not sampled): skip the attribute work.
		return
	}
	if err != nil || res == nil {
		_, span := tr.Start(ctx, SpanDecisionEvaluation, trace.WithTimestamp(start))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		return
	}
	var signals, decisions time.Duration
	for _, t := range res.Timings {
		if _, ok := signalType(t.Stage); ok {
			signals += t.Duration
		} else if t.Stage == "decisions" {
			decisions = t.Duration
		}
	}
	matched := make([]string, 0, len(res.Signals))
	for _, s := range res.Signals {
		if s.Matched {
			matched = append(matched, string(s.Family)+":"+s.Name)
		}
	}
	var degraded []string
	for _, d := range res.Degraded {
		if d.Family != "" {
			degraded = append(degraded, string(d.Family))
		}
	}
	_, sig := tr.Start(ctx, SpanSignalEvaluation, trace.WithTimestamp(start))
	sig.SetAttributes(attribute.StringSlice("signal.matched_rules", matched),
		attribute.Float64("signal.latency_ms", float64(signals.Microseconds())/1000))
	if len(degraded) > 0 {
		sig.SetAttributes(attribute.StringSlice("signal.degraded_families", degraded))
	}
	sigEnd := start.Add(signals)
	sig.End(trace.WithTimestamp(sigEnd))

	_, dec := tr.Start(ctx, SpanDecisionEvaluation, trace.WithTimestamp(sigEnd))
	dec.SetAttributes(
		attribute.String("decision.name", res.Decision),
		attribute.Bool("decision.matched", !res.IsDefault),
		attribute.Float64("decision.confidence", res.Confidence),
		attribute.StringSlice("decision.matched_rules", res.MatchedConditions),
		attribute.String("decision.strategy", res.Algorithm),
		attribute.String("model.name", res.Model),
		attribute.Bool("model.reasoning_enabled", res.UseReasoning),
	)
	if res.Recipe != "" {
		dec.SetAttributes(attribute.String("decision.recipe", res.Recipe))
	}
	dec.End(trace.WithTimestamp(sigEnd.Add(decisions)))
}
