package config

// Response-path plugins: response_jailbreak and router_replay.

// Response jailbreak actions.
const (
	// ResponseJailbreakHeader flags the answer in response headers (the
	// default).
	ResponseJailbreakHeader = "header"
	// ResponseJailbreakBlock replaces a flagged answer with a refusal.
	ResponseJailbreakBlock = "block"
)

// DefaultResponseJailbreakThreshold is the threshold of a
// response_jailbreak plugin that sets none (0): the jailbreak scorer's
// operating point.
const DefaultResponseJailbreakThreshold = 0.5

// Router replay defaults, for fields left at 0.
const (
	DefaultReplayMaxRecords   = 200
	DefaultReplayMaxBodyBytes = 4096
	// MaxReplayRecords caps max_records (per decision and gateway).
	MaxReplayRecords = 100000
)

// ResponseJailbreak returns the typed configuration when Type is
// response_jailbreak.
func (p Plugin) ResponseJailbreak() *ResponseJailbreakPlugin {
	c, _ := p.Configuration.(*ResponseJailbreakPlugin)
	return c
}

// RouterReplay returns the typed configuration when Type is router_replay.
func (p Plugin) RouterReplay() *RouterReplayPlugin {
	c, _ := p.Configuration.(*RouterReplayPlugin)
	return c
}

// EffectiveThreshold is Threshold, or the default when it is 0.
func (r *ResponseJailbreakPlugin) EffectiveThreshold() float64 {
	if r.Threshold == 0 {
		return DefaultResponseJailbreakThreshold
	}
	return r.Threshold
}

// EffectiveAction is Action, or header when it is empty.
func (r *ResponseJailbreakPlugin) EffectiveAction() string {
	if r.Action == "" {
		return ResponseJailbreakHeader
	}
	return r.Action
}

// EffectiveMaxRecords is MaxRecords, or the default when it is 0.
func (r *RouterReplayPlugin) EffectiveMaxRecords() int {
	if r.MaxRecords == 0 {
		return DefaultReplayMaxRecords
	}
	return r.MaxRecords
}

// EffectiveMaxBodyBytes is MaxBodyBytes, or the default when it is 0.
func (r *RouterReplayPlugin) EffectiveMaxBodyBytes() int64 {
	if r.MaxBodyBytes == 0 {
		return DefaultReplayMaxBodyBytes
	}
	return r.MaxBodyBytes
}

// validateResponseJailbreak checks a response_jailbreak configuration at cp.
func (v *validator) validateResponseJailbreak(cp string, c *ResponseJailbreakPlugin) {
	v.checkUnit(sub(cp, "threshold"), c.Threshold)
	v.checkOneOf(sub(cp, "action"), c.Action, ResponseJailbreakHeader, ResponseJailbreakBlock)
}

// validateRouterReplay checks a router_replay configuration at cp.
func (v *validator) validateRouterReplay(cp string, c *RouterReplayPlugin) {
	if c.MaxRecords < 0 {
		v.errorf(sub(cp, "max_records"), "must not be negative, got %d", c.MaxRecords)
	} else if c.MaxRecords > MaxReplayRecords {
		v.errorf(sub(cp, "max_records"), "must be at most %d (records are kept in the gateway's memory), got %d", MaxReplayRecords, c.MaxRecords)
	}
	for _, f := range []struct {
		key string
		n   int64
	}{{"max_body_bytes", c.MaxBodyBytes}, {"max_tool_trace_bytes", c.MaxToolTraceBytes}, {"max_tool_trace_steps", int64(c.MaxToolTraceSteps)}} {
		if f.n < 0 {
			v.errorf(sub(cp, f.key), "must not be negative, got %d", f.n)
		}
	}
	if c.Enabled && !c.CaptureRequestBody && !c.CaptureResponseBody && c.MaxBodyBytes > 0 {
		v.warnf(sub(cp, "max_body_bytes"), "has no effect: neither capture_request_body nor capture_response_body is set")
	}
}
