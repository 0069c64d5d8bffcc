// Package compress runs the context_compression decision plugin: when a
// chat request's estimated prompt exceeds the trigger budget, it shortens
// large tool outputs extractively (BM25 against the latest user turn) and,
// when the history target allows, drops the oldest conversation turns,
// until the prompt fits the target budget. System messages and the latest
// user turn are never changed.
package compress

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
)

// Defaults of the plugin's optional fields.
const (
	DefaultControlHeader   = "x-vsr-compression-control"
	DefaultToolMinTokens   = 2000
	DefaultToolTarget      = 1000
	DefaultReserveTokens   = 4096
	autoTriggerPercent     = 75
	autoTargetPercent      = 60
	HistoryPreserve        = "preserve"
	HistoryDropOldest      = "drop_oldest"
	ToolOutputsExtractive  = "extractive"
	ToolOutputsPreserve    = "preserve"
	FailureModeFailClosed  = "fail_closed"
	ControlBypass          = "bypass"
	ControlTarget          = "target"
	budgetAuto             = -1
	controlTargetPrefixLen = len(ControlTarget) + 1
)

// ErrNoRoom is returned when an auto budget leaves no room for the prompt:
// the reserved output tokens fill the whole context window.
var ErrNoRoom = errors.New("no room for the prompt")

// Policy is the compiled configuration of one context_compression plugin.
// It is immutable and safe for concurrent use.
type Policy struct {
	trigger, target, reserve int // budgetAuto or a token count
	toolOutputs              bool
	toolMin, toolTarget      int
	history                  string
	controls                 *controls
	failClosed               bool
}

type controls struct {
	header    string
	bypass    bool
	target    bool
	maxTarget int
}

// New compiles c; it returns nil when the plugin is absent or disabled.
// Values validation rejects are reported as errors.
func New(c *config.ContextCompressionPlugin) (*Policy, error) {
	if c == nil || !c.Enabled {
		return nil, nil
	}
	p := &Policy{toolOutputs: true, toolMin: DefaultToolMinTokens, toolTarget: DefaultToolTarget,
		history: HistoryPreserve, failClosed: c.FailureMode == FailureModeFailClosed}
	var errs []error
	if b := c.Budget; b != nil {
		for _, f := range []struct {
			name, v string
			dst     *int
		}{{"trigger_tokens", b.TriggerTokens, &p.trigger}, {"target_tokens", b.TargetTokens, &p.target},
			{"reserve_output_tokens", b.ReserveOutputTokens, &p.reserve}} {
			n, err := ParseBudget(f.v)
			if err != nil {
				errs = append(errs, fmt.Errorf("budget.%s: %w", f.name, err))
			}
			*f.dst = n
		}
	} else {
		p.trigger, p.target, p.reserve = budgetAuto, budgetAuto, budgetAuto
	}
	if t, ok := c.Targets["tool_outputs"]; ok {
		p.toolOutputs = t.Mode != ToolOutputsPreserve
		if t.MinTokens > 0 {
			p.toolMin = t.MinTokens
			p.toolTarget = max(1, t.MinTokens/2)
		}
		if t.TargetTokens > 0 {
			p.toolTarget = t.TargetTokens
		}
	}
	if t, ok := c.Targets["history"]; ok && t.Mode != "" {
		p.history = t.Mode
	}
	if p.history != HistoryPreserve && p.history != HistoryDropOldest {
		errs = append(errs, fmt.Errorf("targets.history.mode: unknown mode %q", p.history))
	}
	if rc := c.RequestControls; rc != nil && rc.Enabled {
		ct := &controls{header: strings.ToLower(rc.Header), maxTarget: rc.MaxTargetTokens}
		if ct.header == "" {
			ct.header = DefaultControlHeader
		}
		if len(rc.Allowed) == 0 {
			ct.bypass, ct.target = true, true
		}
		for _, a := range rc.Allowed {
			switch a {
			case ControlBypass:
				ct.bypass = true
			case ControlTarget:
				ct.target = true
			default:
				errs = append(errs, fmt.Errorf("request_controls.allowed: unknown control %q", a))
			}
		}
		p.controls = ct
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// ParseBudget reads a budget value: "" or "auto" (returned as -1) or a
// positive token count.
func ParseBudget(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "auto" {
		return budgetAuto, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want auto or a positive token count, got %q", v)
	}
	return n, nil
}

// FailClosed reports failure_mode fail_closed: an internal error rejects
// the request instead of forwarding it unchanged.
func (p *Policy) FailClosed() bool { return p.failClosed }

// Control is a client's request control, read from the configured header.
type Control struct {
	// Bypass skips compression for this request.
	Bypass bool
	// Target (> 0) compresses whenever the prompt exceeds Target tokens,
	// down to Target (already capped by max_target_tokens).
	Target int
}

// ControlError is a request control the plugin does not accept (answered
// with a 400 whatever the failure mode).
type ControlError struct {
	Header, Value, Reason string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("header %s: %q %s", e.Header, e.Value, e.Reason)
}

// ControlFrom reads the request control from the request headers (get
// returns a header's value, "" when absent). Without request_controls the
// header is ignored.
func (p *Policy) ControlFrom(get func(string) string) (Control, error) {
	ct := p.controls
	if ct == nil {
		return Control{}, nil
	}
	v := strings.TrimSpace(get(ct.header))
	if v == "" {
		return Control{}, nil
	}
	bad := func(reason string) (Control, error) {
		return Control{}, &ControlError{Header: ct.header, Value: v, Reason: reason}
	}
	switch {
	case strings.EqualFold(v, ControlBypass):
		if !ct.bypass {
			return bad("is not allowed here (request_controls.allowed)")
		}
		return Control{Bypass: true}, nil
	case len(v) > controlTargetPrefixLen && strings.EqualFold(v[:controlTargetPrefixLen], ControlTarget+"="):
		if !ct.target {
			return bad("is not allowed here (request_controls.allowed)")
		}
		n, err := strconv.Atoi(v[controlTargetPrefixLen:])
		if err != nil || n <= 0 {
			return bad("must be target=<positive token count>")
		}
		if ct.maxTarget > 0 {
			n = min(n, ct.maxTarget)
		}
		return Control{Target: n}, nil
	default:
		return bad("is not a known control; send bypass or target=<tokens>")
	}
}

// Budgets are the resolved token budgets of one request.
type Budgets struct {
	Trigger, Target int
}

// Budgets resolves the budgets for a model with the given context window
// (0: unknown) and a request asking for maxOutput completion tokens (0:
// unset). The rule for auto values:
//
//   - reserve_output_tokens auto is maxOutput, else min(4096, window/4);
//   - trigger_tokens auto is min(75% of window, window - reserve);
//   - target_tokens auto is min(60% of window, window - reserve).
//
// A target above the trigger is lowered to the trigger. ok is false when
// a budget is auto and the window is unknown (nothing to derive it from).
// A request control's target replaces both budgets.
func (p *Policy) Budgets(window, maxOutput int, ctl Control) (b Budgets, ok bool, err error) {
	if ctl.Target > 0 {
		return Budgets{Trigger: ctl.Target, Target: ctl.Target}, true, nil
	}
	b = Budgets{Trigger: p.trigger, Target: p.target}
	if b.Trigger == budgetAuto || b.Target == budgetAuto {
		if window <= 0 {
			return Budgets{}, false, nil
		}
		reserve := p.reserve
		if reserve == budgetAuto {
			reserve = maxOutput
			if reserve <= 0 {
				reserve = min(DefaultReserveTokens, window/4)
			}
		}
		room := window - reserve
		if room <= 0 {
			return Budgets{}, false, fmt.Errorf("budget: %d reserved output tokens fill the %d-token context window: %w",
				reserve, window, ErrNoRoom)
		}
		if b.Trigger == budgetAuto {
			b.Trigger = min(window*autoTriggerPercent/100, room)
		}
		if b.Target == budgetAuto {
			b.Target = min(window*autoTargetPercent/100, room)
		}
	}
	b.Target = min(b.Target, b.Trigger)
	return b, true, nil
}
