package server

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
)

// HistoryKeySuffix marks query_embeddings entries that carry embeddings of
// earlier user turns for re-ask rules: "<model>#prev1" is the previous user
// turn, "<model>#prev2" the one before, and so on.
const HistoryKeySuffix = "#prev"

// toRequest maps request facts and query embeddings to a classifier
// request for the revision c.
func toRequest(c *classifier.Classifier, f *classifierv1.RequestFacts, qe map[string]*commonv1.Vector) *classifier.Request {
	req := &classifier.Request{}
	if f != nil {
		req.Messages = toMessages(f.GetMessages())
		req.Model = f.GetRequestedModel()
		req.ToolDefinitions = int(f.GetToolDefinitionCount())
		req.Metadata = f.GetMetadata()
		if id := f.GetIdentity(); id != nil {
			req.User = id.GetUser()
			req.Groups = id.GetGroups()
		}
	}
	model := c.EmbeddingModel()
	if v, ok := qe[model]; ok && len(v.GetValues()) > 0 {
		req.Query = v.GetValues()
	} else if v, ok := qe[""]; ok && len(v.GetValues()) > 0 {
		req.Query = v.GetValues()
	}
	for i := 1; ; i++ {
		v, ok := qe[model+HistoryKeySuffix+strconv.Itoa(i)]
		if !ok {
			break
		}
		req.History = append(req.History, v.GetValues())
	}
	return req
}

func toMessages(ms []*commonv1.ChatMessage) []heuristic.Message {
	out := make([]heuristic.Message, len(ms))
	for i, m := range ms {
		hm := heuristic.Message{Role: heuristic.Role(strings.ToLower(m.GetRole())), ToolCalls: int(m.GetToolCallCount())}
		var text strings.Builder
		for _, p := range m.GetContent() {
			switch p.GetType() {
			case commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, commonv1.ContentPartType_CONTENT_PART_TYPE_UNSPECIFIED:
				if p.GetText() == "" {
					continue
				}
				if text.Len() > 0 {
					text.WriteByte('\n')
				}
				text.WriteString(p.GetText())
			case commonv1.ContentPartType_CONTENT_PART_TYPE_IMAGE:
				hm.Parts = append(hm.Parts, heuristic.PartImage)
			case commonv1.ContentPartType_CONTENT_PART_TYPE_AUDIO:
				hm.Parts = append(hm.Parts, heuristic.PartAudio)
			case commonv1.ContentPartType_CONTENT_PART_TYPE_FILE:
				hm.Parts = append(hm.Parts, heuristic.PartFile)
			default:
				hm.Parts = append(hm.Parts, heuristic.PartOther)
			}
		}
		hm.Text = text.String()
		out[i] = hm
	}
	return out
}

// userText builds the facts of a single-turn request.
func userText(text string) *classifierv1.RequestFacts {
	return &classifierv1.RequestFacts{Messages: []*commonv1.ChatMessage{{
		Role:    "user",
		Content: []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: text}},
	}}}
}

// toEvaluation maps a classifier result to the wire form.
func toEvaluation(c *classifier.Classifier, res *classifier.Result) *classifierv1.Evaluation {
	ev := &classifierv1.Evaluation{
		ConfigRevision: res.Revision,
		Model: &classifierv1.SelectedModel{
			Name: res.Model, ProviderModelId: res.ProviderModelID, Provider: res.Provider, Algorithm: res.Algorithm,
		},
		Reasoning: &classifierv1.Reasoning{UseReasoning: res.UseReasoning, Effort: res.ReasoningEffort, Family: res.ReasoningFamily},
		LoraName:  res.LoRAName,
	}
	for _, s := range res.Signals {
		ev.Signals = append(ev.Signals, &classifierv1.SignalMatch{
			Family: string(s.Family), Name: s.Name, Matched: s.Matched, Confidence: s.Confidence, RawValue: s.Value,
		})
	}
	proj := &classifierv1.ProjectionOutputs{}
	scores := map[string]float64{}
	for _, s := range res.Scores {
		if s.Unknown {
			continue
		}
		scores[s.Name] = s.Value
		proj.Scores = append(proj.Scores, &classifierv1.ScoreOutput{Name: s.Name, Value: s.Value})
	}
	for _, h := range res.Projections {
		owner, ok := c.ProjectionOwner(res.Recipe, h.Name)
		switch {
		case ok && owner.Kind == "partition":
			proj.Partitions = append(proj.Partitions, &classifierv1.PartitionOutput{Name: owner.Name, Winner: h.Name, Confidence: h.Confidence})
		case ok:
			proj.Mappings = append(proj.Mappings, &classifierv1.MappingOutput{Name: owner.Name, Source: owner.Source, Band: h.Name, Value: scores[owner.Source], Confidence: h.Confidence})
		default:
			proj.Mappings = append(proj.Mappings, &classifierv1.MappingOutput{Name: h.Name, Band: h.Name, Confidence: h.Confidence})
		}
	}
	ev.Projections = proj
	if !res.IsDefault {
		ev.Decision = &classifierv1.Decision{
			Name: res.Decision, Confidence: res.Confidence, Tier: int32(res.Tier), Priority: int32(res.Priority),
			Description: res.Description, Annotations: res.Annotations,
		}
	}
	for _, p := range res.Plugins {
		pp := &classifierv1.Plugin{Type: p.Type}
		if p.Configuration != nil {
			if st, err := structpb.NewStruct(p.Configuration); err == nil {
				pp.Configuration = st
			}
		}
		ev.Plugins = append(ev.Plugins, pp)
	}
	for _, d := range res.Degraded {
		ev.Degraded = append(ev.Degraded, &classifierv1.Degradation{Stage: d.Stage, Family: string(d.Family), Error: d.Err})
	}
	ev.ModelScores = toModelScores(res.ModelScores)
	return ev
}

// toModelScores maps the selection algorithm's per-model scores; the
// messages share one backing array (two allocations for any count).
func toModelScores(ms []engine.ModelScore) []*classifierv1.ModelScore {
	if len(ms) == 0 {
		return nil
	}
	msgs := make([]classifierv1.ModelScore, len(ms))
	out := make([]*classifierv1.ModelScore, len(ms))
	for i, m := range ms {
		msgs[i].Model, msgs[i].Score = m.Model, m.Score
		out[i] = &msgs[i]
	}
	return out
}

func toTimings(ts []classifier.StageTiming) []*classifierv1.StageTiming {
	out := make([]*classifierv1.StageTiming, len(ts))
	for i, t := range ts {
		out[i] = &classifierv1.StageTiming{Stage: t.Stage, Duration: durationpb.New(t.Duration)}
	}
	return out
}

// toObservation maps a latency observation; now stands in for a missing
// observed_at.
func toObservation(o *classifierv1.LatencyObservation, now time.Time) (selection.Observation, bool) {
	if o.GetModel() == "" {
		return selection.Observation{}, false
	}
	obs := selection.Observation{Model: o.GetModel(), TTFT: o.GetTtft().AsDuration(), TPOT: o.GetTpot().AsDuration(), At: now}
	if ts := o.GetObservedAt(); ts != nil {
		obs.At = ts.AsTime()
	}
	return obs, true
}
