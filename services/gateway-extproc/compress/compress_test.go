package compress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/semrouter/semrouter/pkg/config"
)

// est is four bytes a token, as the gateway's estimator for ASCII.
func est(s string) int { return (len(s) + 3) / 4 }

var sizer = Sizer{Text: est, PerMessage: 4}

// logOutput is a tool output of n lines of noise with two lines about the
// disk of host db-7 somewhere in the middle.
func logOutput(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch i {
		case n / 3:
			b.WriteString("WARN host db-7 disk /var usage at 97 percent\n")
		case 2 * n / 3:
			b.WriteString("ERROR host db-7 disk full: write failed on /var/lib/postgres\n")
		default:
			fmt.Fprintf(&b, "INFO request %d served in %d ms by worker %d\n", i, i%50, i%8)
		}
	}
	return b.String()
}

func TestExtract(t *testing.T) {
	text := logOutput(400)
	out, ok := Extract(text, "why is the disk on db-7 full?", 200, est)
	if !ok {
		t.Fatal("not compressed")
	}
	if est(out) > 200 {
		t.Errorf("out is %d tokens, want <= 200", est(out))
	}
	warn := strings.Index(out, "WARN host db-7 disk /var usage")
	errl := strings.Index(out, "ERROR host db-7 disk full")
	if warn < 0 || errl < 0 || warn > errl {
		t.Errorf("relevant lines missing or out of order:\n%s", out)
	}
	if !strings.Contains(out, "[context_compression: ") || !strings.Contains(out, " segments omitted]") {
		t.Errorf("no omission marker:\n%s", out)
	}
	// Kept lines are whole lines of the input, in input order.
	last := -1
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "[context_compression:") {
			continue
		}
		at := strings.Index(text, line+"\n")
		if at < 0 || at <= last {
			t.Fatalf("line %q not from the input in order", line)
		}
		last = at
	}

	if out, ok := Extract("short", "q", 100, est); ok || out != "short" {
		t.Errorf("fitting text changed: %q %v", out, ok)
	}
	// Without any matching term the head of the text is kept.
	out, _ = Extract(text, "kubernetes", 100, est)
	if !strings.HasPrefix(out, "INFO request 0 served") {
		t.Errorf("no match should keep the head:\n%s", out)
	}
}

func TestSplitSegmentsLongLines(t *testing.T) {
	long := strings.Repeat("Filler sentence about nothing. ", 15) + "The key is 42! Done?"
	segs := splitSegments("short line\n\n" + long)
	if len(segs) < 10 {
		t.Fatalf("long line not split into sentences: %d segments", len(segs))
	}
	text := "short line\n\n" + long
	if got := text[segs[0].start:segs[0].end]; got != "short line" {
		t.Errorf("first segment %q", got)
	}
	if got := text[segs[len(segs)-1].start:segs[len(segs)-1].end]; got != "Done?" {
		t.Errorf("last segment %q", got)
	}
}

func TestExtractOneLongLine(t *testing.T) {
	// Minified JSON: one line, no sentence ends.
	var b strings.Builder
	b.WriteString(`[`)
	for i := range 600 {
		if i == 420 {
			b.WriteString(`{"host":"db-7","status":"disk full","mount":"/var"},`)
			continue
		}
		fmt.Fprintf(&b, `{"host":"web-%d","status":"ok","mount":"/"},`, i)
	}
	b.WriteString(`{}]`)
	out, ok := Extract(b.String(), "disk full on db-7", 150, est)
	if !ok || est(out) > 150 || !strings.Contains(out, `"db-7","status":"disk full"`) {
		t.Errorf("ok %v, %d tokens:\n%s", ok, est(out), out)
	}
	for _, seg := range splitSegments(b.String()) {
		if seg.end-seg.start > 2*maxLineBytes {
			t.Fatalf("segment of %d bytes", seg.end-seg.start)
		}
	}
	// Multi-byte text without spaces is cut at rune boundaries.
	cjk := strings.Repeat("日本語のテキスト", 200)
	for _, seg := range splitSegments(cjk) {
		if !utf8.ValidString(cjk[seg.start:seg.end]) {
			t.Fatalf("segment cuts a rune: %q", cjk[seg.start:seg.end])
		}
	}
}

func mustPolicy(t *testing.T, c *config.ContextCompressionPlugin) *Policy {
	t.Helper()
	p, err := New(c)
	if err != nil || p == nil {
		t.Fatalf("New: %v (%v)", p, err)
	}
	return p
}

func TestBudgets(t *testing.T) {
	auto := &config.ContextCompressionPlugin{Enabled: true}
	tests := []struct {
		name      string
		budget    *config.CompressionBudget
		window    int
		maxOutput int
		ctl       Control
		want      Budgets
		wantOK    bool
		wantErr   error
	}{
		{name: "auto with max tokens reserved", window: 10000, maxOutput: 3000, want: Budgets{7000, 6000}, wantOK: true},
		{name: "auto caps at window minus reserve", window: 10000, maxOutput: 5000, want: Budgets{5000, 5000}, wantOK: true},
		{name: "auto default reserve", window: 100000, want: Budgets{75000, 60000}, wantOK: true},
		{name: "auto default reserve on a small window", window: 8000, want: Budgets{6000, 4800}, wantOK: true},
		{name: "auto without a window does nothing", window: 0, wantOK: false},
		{name: "auto with no room", window: 1000, maxOutput: 1000, wantErr: ErrNoRoom},
		{name: "numbers ignore the window", budget: &config.CompressionBudget{TriggerTokens: "5000", TargetTokens: "4000"},
			window: 0, want: Budgets{5000, 4000}, wantOK: true},
		{name: "numeric reserve shapes auto", budget: &config.CompressionBudget{ReserveOutputTokens: "2000"},
			window: 10000, maxOutput: 100, want: Budgets{7500, 6000}, wantOK: true},
		{name: "target above trigger is lowered", budget: &config.CompressionBudget{TriggerTokens: "3000", TargetTokens: "9000"},
			want: Budgets{3000, 3000}, wantOK: true},
		{name: "mixed: numeric trigger, auto target", budget: &config.CompressionBudget{TriggerTokens: "5000", TargetTokens: "auto"},
			window: 10000, want: Budgets{5000, 5000}, wantOK: true},
		{name: "request control target wins", window: 100000, ctl: Control{Target: 1234}, want: Budgets{1234, 1234}, wantOK: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *auto
			c.Budget = tc.budget
			got, ok, err := mustPolicy(t, &c).Budgets(tc.window, tc.maxOutput, tc.ctl)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestControlFrom(t *testing.T) {
	rc := &config.CompressionRequestControls{Enabled: true, Header: "X-Squeeze", Allowed: []string{"bypass", "target"}, MaxTargetTokens: 5000}
	onlyBypass := &config.CompressionRequestControls{Enabled: true, Allowed: []string{"bypass"}}
	tests := []struct {
		name    string
		rc      *config.CompressionRequestControls
		header  string
		value   string
		want    Control
		wantErr string
	}{
		{name: "no header", rc: rc, header: "x-squeeze", value: "", want: Control{}},
		{name: "bypass", rc: rc, header: "x-squeeze", value: "Bypass", want: Control{Bypass: true}},
		{name: "target", rc: rc, header: "x-squeeze", value: "target=1200", want: Control{Target: 1200}},
		{name: "target capped", rc: rc, header: "x-squeeze", value: "target=90000", want: Control{Target: 5000}},
		{name: "bad target", rc: rc, header: "x-squeeze", value: "target=lots", wantErr: "must be target=<positive token count>"},
		{name: "unknown control", rc: rc, header: "x-squeeze", value: "shrink", wantErr: "is not a known control"},
		{name: "not allowed", rc: onlyBypass, header: DefaultControlHeader, value: "target=100", wantErr: "is not allowed here"},
		{name: "default header", rc: onlyBypass, header: DefaultControlHeader, value: "bypass", want: Control{Bypass: true}},
		{name: "disabled controls ignore the header", rc: &config.CompressionRequestControls{Enabled: false},
			header: DefaultControlHeader, value: "junk", want: Control{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, &config.ContextCompressionPlugin{Enabled: true, RequestControls: tc.rc})
			got, err := p.ControlFrom(func(h string) string {
				if h == tc.header {
					return tc.value
				}
				return ""
			})
			if tc.wantErr != "" {
				var ce *ControlError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if p, err := New(&config.ContextCompressionPlugin{Enabled: false}); p != nil || err != nil {
		t.Errorf("disabled: %v %v", p, err)
	}
	_, err := New(&config.ContextCompressionPlugin{Enabled: true, Budget: &config.CompressionBudget{TriggerTokens: "x"},
		Targets: map[string]config.CompressionTarget{"history": {Mode: "summarize"}}})
	if err == nil || !strings.Contains(err.Error(), "budget.trigger_tokens") || !strings.Contains(err.Error(), `unknown mode "summarize"`) {
		t.Errorf("err %v", err)
	}
}

// conversation is a chat body: system, an old turn with a tool call and
// its big result, a second old turn, then the latest user turn followed
// by a current tool call and result.
func conversation(t testing.TB, toolLines int) []byte {
	t.Helper()
	msgs := []map[string]any{
		{"role": "system", "content": "You are an SRE assistant."},
		{"role": "user", "content": "check the web tier"},
		{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "c1", "type": "function",
			"function": map[string]any{"name": "logs", "arguments": `{"tier":"web"}`}}}},
		{"role": "tool", "tool_call_id": "c1", "content": strings.Repeat("web ok\n", 400)},
		{"role": "assistant", "content": "The web tier is fine."},
		{"role": "user", "content": "and the cache?"},
		{"role": "assistant", "content": strings.Repeat("The cache hit ratio is fine. ", 40)},
		{"role": "user", "content": "why is the disk on db-7 full?"},
		{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "c2", "type": "function",
			"function": map[string]any{"name": "logs", "arguments": `{"host":"db-7"}`}}}},
		{"role": "tool", "tool_call_id": "c2", "content": []any{map[string]any{"type": "text", "text": logOutput(toolLines)}}},
	}
	b, err := json.Marshal(map[string]any{"model": "auto", "messages": msgs, "temperature": 0.2})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type chatBody struct {
	Model       string
	Temperature float64
	Messages    []struct {
		Role       string
		Content    any
		ToolCallID string                `json:"tool_call_id"`
		ToolCalls  []struct{ ID string } `json:"tool_calls"`
	}
}

func decode(t *testing.T, b []byte) chatBody {
	t.Helper()
	var c chatBody
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return c
}

// checkValid asserts the conversation invariants: every tool result
// follows the assistant message that called it, every call has its
// result, the system message and the latest user turn are unchanged.
func checkValid(t *testing.T, c chatBody) {
	t.Helper()
	open := map[string]bool{}
	for i, m := range c.Messages {
		switch m.Role {
		case "assistant":
			for id := range open {
				t.Errorf("message %d: call %s has no result", i, id)
			}
			clear(open)
			for _, tc := range m.ToolCalls {
				open[tc.ID] = true
			}
		case "tool":
			if !open[m.ToolCallID] {
				t.Errorf("message %d: result for %s without its call", i, m.ToolCallID)
			}
			delete(open, m.ToolCallID)
		}
	}
	if c.Messages[0].Role != "system" || c.Messages[0].Content != "You are an SRE assistant." {
		t.Errorf("system message changed: %+v", c.Messages[0])
	}
	found := false
	for _, m := range c.Messages {
		if m.Role == "user" && m.Content == "why is the disk on db-7 full?" {
			found = true
		}
	}
	if !found {
		t.Error("latest user turn lost")
	}
}

func TestApply(t *testing.T) {
	tool := func(min, target int) map[string]config.CompressionTarget {
		return map[string]config.CompressionTarget{"tool_outputs": {Mode: "extractive", MinTokens: min, TargetTokens: target}}
	}
	tests := []struct {
		name        string
		cfg         config.ContextCompressionPlugin
		budgets     Budgets
		overhead    int
		lines       int // lines of the latest tool output (default 1500)
		wantChanged bool
		check       func(t *testing.T, r Result, c chatBody)
	}{
		{name: "under the trigger: untouched", budgets: Budgets{Trigger: 1 << 20, Target: 1 << 20}},
		{name: "tool outputs compressed, relevant lines kept", cfg: config.ContextCompressionPlugin{Targets: tool(500, 300)},
			budgets: Budgets{Trigger: 5000, Target: 4000}, wantChanged: true,
			check: func(t *testing.T, r Result, c chatBody) {
				if r.ToolOutputs != 2 || r.Dropped != 0 {
					t.Errorf("tool outputs %d dropped %d", r.ToolOutputs, r.Dropped)
				}
				last, _ := c.Messages[9].Content.(string)
				if !strings.Contains(last, "ERROR host db-7 disk full") || !strings.Contains(last, "WARN host db-7 disk /var usage") {
					t.Errorf("relevant lines lost:\n%s", last)
				}
				if est(last) > 300 {
					t.Errorf("tool output %d tokens, want <= 300", est(last))
				}
				if len(c.Messages) != 10 || c.Model != "auto" || c.Temperature != 0.2 {
					t.Errorf("other fields changed: %+v", c)
				}
			}},
		{name: "preserve history stays over the target", cfg: config.ContextCompressionPlugin{Targets: tool(500, 300)},
			budgets: Budgets{Trigger: 500, Target: 400}, wantChanged: true,
			check: func(t *testing.T, r Result, c chatBody) {
				if r.Dropped != 0 || len(c.Messages) != 10 || r.After <= 400 {
					t.Errorf("history changed: dropped %d, %d messages, after %d", r.Dropped, len(c.Messages), r.After)
				}
			}},
		{name: "drop_oldest removes whole old turns", cfg: config.ContextCompressionPlugin{Targets: map[string]config.CompressionTarget{
			"tool_outputs": {MinTokens: 500, TargetTokens: 300}, "history": {Mode: "drop_oldest"}}},
			budgets: Budgets{Trigger: 800, Target: 500}, wantChanged: true,
			check: func(t *testing.T, r Result, c chatBody) {
				var roles []string
				for _, m := range c.Messages {
					roles = append(roles, m.Role)
				}
				want := "system,user,assistant,tool"
				if strings.Join(roles, ",") != want {
					t.Errorf("roles %v, want %s", roles, want)
				}
				if r.Dropped != 6 || r.After > 500 {
					t.Errorf("dropped %d after %d", r.Dropped, r.After)
				}
			}},
		{name: "drop_oldest stops once under the target", cfg: config.ContextCompressionPlugin{Targets: map[string]config.CompressionTarget{
			"tool_outputs": {Mode: "preserve"}, "history": {Mode: "drop_oldest"}}},
			lines: 20, budgets: Budgets{Trigger: 1000, Target: 1000}, wantChanged: true,
			check: func(t *testing.T, r Result, c chatBody) {
				// Only the first turn (user, call, big result, answer) goes.
				if r.Dropped != 4 || r.ToolOutputs != 0 || c.Messages[1].Content != "and the cache?" {
					t.Errorf("dropped %d, tool outputs %d, messages %+v", r.Dropped, r.ToolOutputs, c.Messages)
				}
			}},
		{name: "overhead counts toward the trigger", cfg: config.ContextCompressionPlugin{Targets: tool(500, 300)},
			overhead: 100000, budgets: Budgets{Trigger: 100000, Target: 90000}, wantChanged: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Enabled = true
			lines := tc.lines
			if lines == 0 {
				lines = 1500
			}
			body := conversation(t, lines)
			r, err := mustPolicy(t, &cfg).Apply(context.Background(), body, tc.overhead, tc.budgets, sizer)
			if err != nil {
				t.Fatal(err)
			}
			if r.Changed != tc.wantChanged {
				t.Fatalf("changed %v, want %v", r.Changed, tc.wantChanged)
			}
			if !r.Changed {
				if string(r.Body) != string(body) || r.Before != r.After {
					t.Error("unchanged result differs from the input")
				}
				return
			}
			if r.After >= r.Before {
				t.Errorf("before %d after %d", r.Before, r.After)
			}
			c := decode(t, r.Body)
			checkValid(t, c)
			// After is the estimate of the new body.
			want := tc.overhead
			for _, m := range c.Messages {
				s, _ := m.Content.(string)
				if parts, ok := m.Content.([]any); ok {
					s = parts[0].(map[string]any)["text"].(string)
				}
				want += 4 + est(s)
			}
			if r.After != want {
				t.Errorf("After %d, recount %d", r.After, want)
			}
			if tc.check != nil {
				tc.check(t, r, c)
			}
		})
	}
}

func TestApplyHonoursContext(t *testing.T) {
	p := mustPolicy(t, &config.ContextCompressionPlugin{Enabled: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Apply(ctx, conversation(t, 3000), 0, Budgets{Trigger: 10, Target: 10}, sizer); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}
