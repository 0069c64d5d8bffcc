package natsstages

import (
	"context"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"
	"github.com/tidwall/gjson"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// HistoryKeySuffix marks query_embeddings entries that carry earlier user
// turns (the classifier service's convention).
const HistoryKeySuffix = "#prev"

// Classifier asks the classifier service for the routing of a request.
type Classifier struct {
	client classifierv1connect.ClassifierServiceClient
	// embeddingKeys names the query_embeddings entries of the query
	// embedding (nil: "").
	embeddingKeys func() []string
}

var _ gateway.Classifier = (*Classifier)(nil)

// NewClassifier returns a Classifier. embeddingKeys (optional) names the
// query_embeddings entries the query embedding is sent under; pass
// (*Embedder).Keys.
func NewClassifier(nc *nats.Conn, embeddingKeys func() []string, opts ...natsrpc.ClientOption) *Classifier {
	return &Classifier{
		client:        classifierv1connect.NewClassifierServiceClient(natsrpc.NewClient(nc, opts...), natsrpc.BaseURL),
		embeddingKeys: embeddingKeys,
	}
}

// Classify sends the request facts and query embedding and maps the
// evaluation to a gateway decision.
func (c *Classifier) Classify(ctx context.Context, rr *gateway.RouteRequest) (*gateway.Decision, error) {
	req := &classifierv1.ClassifyRequest{Facts: Facts(rr), ConfigRevision: int64(rr.ConfigRevision)}
	if len(rr.Embedding) > 0 {
		keys := []string{""}
		if c.embeddingKeys != nil {
			keys = c.embeddingKeys()
		}
		vec := &commonv1.Vector{Values: rr.Embedding}
		req.QueryEmbeddings = make(map[string]*commonv1.Vector, len(keys)*(1+len(rr.History)))
		for _, k := range keys {
			req.QueryEmbeddings[k] = vec
			// Earlier user turns for re-ask rules: "<model>#prev1" is the
			// previous user turn, "<model>#prev2" the one before, …
			for i, h := range rr.History {
				req.QueryEmbeddings[k+HistoryKeySuffix+strconv.Itoa(i+1)] = &commonv1.Vector{Values: h}
			}
		}
	}
	res, err := c.client.Classify(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, stageError("classify", err)
	}
	return DecisionFrom(res.Msg.GetEvaluation()), nil
}

// Facts maps a route request to the classifier's request facts: messages
// with typed content parts, requested model, entrypoint and recipe,
// identity (and its headers), tools, metadata, stream flag and request id.
func Facts(rr *gateway.RouteRequest) *classifierv1.RequestFacts {
	f := &classifierv1.RequestFacts{RequestedModel: rr.Model, Recipe: rr.Recipe, Path: "/v1/chat/completions",
		Identity: &commonv1.Identity{User: rr.Identity.User, Groups: rr.Identity.Groups}}
	if rr.Recipe != "" {
		f.Entrypoint = rr.Model
	}
	if rr.Header != nil {
		// Any client sets it: bytes that are not UTF-8 would make the
		// protobuf message unmarshalable and the classifier stage fail.
		f.RequestId = strings.ToValidUTF8(rr.Header("x-request-id"), "\uFFFD")
	}
	if rr.Request == nil {
		for _, m := range rr.Messages {
			f.Messages = append(f.Messages, &commonv1.ChatMessage{Role: m.Role,
				Content: []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: m.Text}}})
		}
		return f
	}
	f.Stream = rr.Request.Stream
	root := gjson.ParseBytes(rr.Request.Raw())
	root.Get("messages").ForEach(func(_, m gjson.Result) bool {
		f.Messages = append(f.Messages, chatMessage(m))
		return true
	})
	root.Get("tools").ForEach(func(_, t gjson.Result) bool {
		f.ToolDefinitionCount++
		if n := t.Get("function.name").String(); n != "" {
			f.ToolNames = append(f.ToolNames, n)
		}
		return true
	})
	if md := root.Get("metadata"); md.IsObject() {
		f.Metadata = map[string]string{}
		md.ForEach(func(k, v gjson.Result) bool {
			f.Metadata[k.String()] = v.String()
			return true
		})
	}
	return f
}

func chatMessage(m gjson.Result) *commonv1.ChatMessage {
	cm := &commonv1.ChatMessage{Role: m.Get("role").String(), Name: m.Get("name").String(),
		ToolCallId: m.Get("tool_call_id").String(), ToolCallCount: int32(len(m.Get("tool_calls").Array()))}
	content := m.Get("content")
	switch {
	case content.Type == gjson.String:
		cm.Content = []*commonv1.ContentPart{{Type: commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, Text: content.Str}}
	case content.IsArray():
		content.ForEach(func(_, p gjson.Result) bool {
			cm.Content = append(cm.Content, contentPart(p))
			return true
		})
	}
	return cm
}

func contentPart(p gjson.Result) *commonv1.ContentPart {
	typ := p.Get("type").String()
	part := &commonv1.ContentPart{RawType: typ}
	switch typ {
	case "text", "input_text":
		part.Type, part.Text = commonv1.ContentPartType_CONTENT_PART_TYPE_TEXT, p.Get("text").String()
	case "image_url", "input_image":
		part.Type = commonv1.ContentPartType_CONTENT_PART_TYPE_IMAGE
		if u := p.Get("image_url"); u.IsObject() {
			part.Url = u.Get("url").String()
		} else {
			part.Url = u.String()
		}
		if strings.HasPrefix(part.Url, "data:") {
			mime, _, _ := strings.Cut(strings.TrimPrefix(part.Url, "data:"), ";")
			part.MimeType = mime
		}
	case "input_audio":
		part.Type, part.MimeType = commonv1.ContentPartType_CONTENT_PART_TYPE_AUDIO, p.Get("input_audio.format").String()
	case "file", "input_file":
		part.Type = commonv1.ContentPartType_CONTENT_PART_TYPE_FILE
		part.Url = p.Get("file.file_id").String()
	default:
		part.Type = commonv1.ContentPartType_CONTENT_PART_TYPE_OTHER
	}
	return part
}

// DecisionFrom maps a classifier evaluation to a gateway decision: the
// winning decision (none: default routing), the selected model and
// reasoning, the algorithm and its per-model scores (Scores, what model
// switch protection compares), the domain category and the matched signal
// rules per family ("projection" lists partition winners and mapping
// bands). Blocking is configured as decisions with a fast_response plugin,
// which the gateway applies from its own routes, so Block stays nil.
func DecisionFrom(ev *classifierv1.Evaluation) *gateway.Decision {
	d := &gateway.Decision{}
	if ev == nil {
		return d
	}
	if dec := ev.GetDecision(); dec != nil && !dec.GetIsDefault() {
		d.Name, d.Confidence = dec.GetName(), dec.GetConfidence()
	}
	if m := ev.GetModel(); m != nil {
		d.Model, d.Algorithm = m.GetName(), m.GetAlgorithm()
	}
	if ms := ev.GetModelScores(); len(ms) > 0 {
		d.Scores = make(map[string]float64, len(ms))
		for _, s := range ms {
			d.Scores[s.GetModel()] = s.GetScore()
		}
	}
	if r := ev.GetReasoning(); r != nil {
		use := r.GetUseReasoning()
		d.UseReasoning, d.ReasoningEffort = &use, r.GetEffort()
	}
	var best float64
	for _, s := range ev.GetSignals() {
		if !s.GetMatched() {
			continue
		}
		if d.Matched == nil {
			d.Matched = map[string][]string{}
		}
		fam := s.GetFamily()
		d.Matched[fam] = append(d.Matched[fam], s.GetName())
		if fam == "domain" && (d.Category == "" || s.GetConfidence() > best) {
			d.Category, best = s.GetName(), s.GetConfidence()
		}
	}
	if p := ev.GetProjections(); p != nil {
		var names []string
		for _, part := range p.GetPartitions() {
			if w := part.GetWinner(); w != "" {
				names = append(names, w)
			}
		}
		for _, m := range p.GetMappings() {
			if b := m.GetBand(); b != "" {
				names = append(names, b)
			}
		}
		if len(names) > 0 {
			if d.Matched == nil {
				d.Matched = map[string][]string{}
			}
			d.Matched["projection"] = names
		}
	}
	return d
}
