package natsstages

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// Latency publishes observations on subjects.Latency(model).
type Latency struct {
	nc  *nats.Conn
	now func() time.Time
}

var _ gateway.LatencyPublisher = (*Latency)(nil)

// NewLatency returns a publisher over nc.
func NewLatency(nc *nats.Conn) *Latency { return &Latency{nc: nc, now: time.Now} }

// Observation is the wire form of obs. TTFT and TPOT are only measured on
// streamed responses (a buffered answer has no first token); zero means
// "not measured" to latency-aware selection.
func Observation(obs *gateway.LatencyObservation, at time.Time) *classifierv1.LatencyObservation {
	out := &classifierv1.LatencyObservation{Model: obs.Model, Decision: obs.Decision, StatusCode: int32(obs.Status),
		Total: durationpb.New(obs.Total), ObservedAt: timestamppb.New(at),
		Usage: &commonv1.Usage{PromptTokens: obs.PromptTokens, CompletionTokens: obs.CompletionTokens,
			TotalTokens: obs.PromptTokens + obs.CompletionTokens}}
	if obs.Streamed {
		if obs.TTFT > 0 {
			out.Ttft = durationpb.New(obs.TTFT)
		}
		if obs.TPOT > 0 {
			out.Tpot = durationpb.New(obs.TPOT)
		}
	}
	return out
}

// PublishLatency publishes one observation (fire and forget).
func (l *Latency) PublishLatency(_ context.Context, obs *gateway.LatencyObservation) error {
	if obs.Model == "" {
		return nil
	}
	data, err := proto.Marshal(Observation(obs, l.now()))
	if err != nil {
		return fmt.Errorf("encode latency observation: %w", err)
	}
	if err := l.nc.Publish(subjects.Latency(obs.Model), data); err != nil {
		return fmt.Errorf("publish latency for %q: %w", obs.Model, err)
	}
	return nil
}
