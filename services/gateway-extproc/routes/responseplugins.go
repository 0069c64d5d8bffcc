package routes

import "github.com/semrouter/semrouter/pkg/config"

// ResponseJailbreakPlugin mirrors plugins[type=response_jailbreak]: the
// answer is scored with the classifier's jailbreak model (ScoreText) and
// flagged at Threshold or above.
type ResponseJailbreakPlugin struct {
	Threshold float64
	// Action is header (flag in headers) or block (replace the answer).
	Action string
}

// Block reports whether a flagged answer is replaced by a refusal (false
// for a nil plugin).
func (p *ResponseJailbreakPlugin) Block() bool {
	return p != nil && p.Action == config.ResponseJailbreakBlock
}

// RouterReplayPlugin mirrors plugins[type=router_replay]: the gateway
// keeps the last MaxRecords routing records of the decision in memory.
type RouterReplayPlugin struct {
	MaxRecords          int
	CaptureRequestBody  bool
	CaptureResponseBody bool
	// MaxBodyBytes caps each captured body (> 0).
	MaxBodyBytes int
	// MaxToolTraceBytes caps each tool-trace field, MaxToolTraceSteps the
	// number of steps (0: no cap of their own; bodies stay bounded by the
	// request and response sizes).
	MaxToolTraceBytes int
	MaxToolTraceSteps int
}

// responsePluginFromConfig maps the response-path plugins of p into out;
// disabled plugins map to nil.
func responsePluginFromConfig(p config.Plugin, out *Plugins) {
	if c := p.ResponseJailbreak(); c != nil && c.Enabled {
		out.ResponseJailbreak = &ResponseJailbreakPlugin{Threshold: c.EffectiveThreshold(), Action: c.EffectiveAction()}
	}
	if h := hallucinationFromConfig(p); h != nil {
		out.Hallucination = h
	}
	if c := p.RouterReplay(); c != nil && c.Enabled {
		out.RouterReplay = &RouterReplayPlugin{MaxRecords: c.EffectiveMaxRecords(),
			CaptureRequestBody: c.CaptureRequestBody, CaptureResponseBody: c.CaptureResponseBody,
			MaxBodyBytes: int(c.EffectiveMaxBodyBytes()), MaxToolTraceBytes: int(c.MaxToolTraceBytes),
			MaxToolTraceSteps: c.MaxToolTraceSteps}
	}
}
