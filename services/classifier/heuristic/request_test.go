package heuristic

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestParseTokenCount(t *testing.T) {
	cases := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"4096", 4096, false},
		{"32K", 32000, false},
		{"32k", 32000, false},
		{"256K", 256000, false},
		{"1M", 1000000, false},
		{"1.5M", 1500000, false},
		{" 8k ", 8000, false},
		{"", 0, true},
		{"K", 0, true},
		{"-1K", 0, true},
		{"12 tokens", 0, true},
		{"1e12M", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseTokenCount(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseTokenCount(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	cases := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"english", "Hello, how are you today?", 7}, // 25 bytes → 7
		{"chinese", "你好，今天怎么样", 7 + 1},              // 7 CJK + "，" (3 bytes → 1)
		{"mixed", "用 Go 写一个 HTTP server", 4 + 4},    // 4 CJK + 16 other bytes
		{"japanese kana", "こんにちは", 5},
	}
	for _, tc := range cases {
		if got := EstimateTokens(tc.text); got != tc.want {
			t.Errorf("%s: EstimateTokens(%q) = %d, want %d", tc.name, tc.text, got, tc.want)
		}
	}
}

func TestContextBounds(t *testing.T) {
	min32k, _ := ParseTokenCount("32K")
	max256k, _ := ParseTokenCount("256K")
	e := mustCompile(t, Rules{Context: []ContextRule{
		{Name: "long_context", MinTokens: min32k, MaxTokens: max256k},
		{Name: "short", MaxTokens: 100},
		{Name: "unbounded", MinTokens: 10},
	}})
	mk := func(bytes int) *Request {
		return (&Request{Messages: []Message{{Role: RoleSystem, Text: "be brief"}, {Role: RoleUser, Text: strings.Repeat("abcd", bytes/4)}}}).Prepare()
	}
	cases := []struct {
		name string
		req  *Request
		want []string
	}{
		{"tiny", mk(40), []string{"short", "unbounded"}},
		{"just below 32K", mk(4 * (32000 - 2*perMessageTokens - 3)), []string{"unbounded"}},
		{"at 32K", mk(4 * (32000 - 2*perMessageTokens - 2)), []string{"long_context", "unbounded"}},
		{"above 256K", mk(4 * 300000), []string{"unbounded"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := matched(t, e, tc.req, signal.Context); !slices.Equal(got, tc.want) {
				t.Fatalf("tokens %d: matched %v, want %v", tc.req.EstimatedTokens(), got, tc.want)
			}
		})
	}
	if _, err := Compile(Rules{Context: []ContextRule{{Name: "bad", MinTokens: 10, MaxTokens: 5}}}); err == nil || !strings.Contains(err.Error(), "context[0]") {
		t.Fatalf("want bounds error, got %v", err)
	}
}

func TestRequestPrepare(t *testing.T) {
	req := (&Request{Messages: []Message{
		{Role: RoleSystem, Text: "sys"},
		{Role: RoleUser, Text: "first question"},
		{Role: RoleAssistant, Text: "answer", ToolCalls: 1},
		{Role: RoleTool, Text: `{"ok":true}`},
		{Role: RoleUser, Text: "Follow UP", Parts: []PartKind{PartImage, PartImage}},
	}}).Prepare()
	if req.CurrentText() != "Follow UP" || req.curLower != "follow up" || req.curUnits != 2 {
		t.Fatalf("current turn: %q %q %d", req.CurrentText(), req.curLower, req.curUnits)
	}
	if !req.facts.lastUserAfterResult || req.facts.images != 2 || req.facts.assistantToolCalls != 1 {
		t.Fatalf("facts: %+v", req.facts)
	}
	var hist []string
	req.history(func(s string) bool { hist = append(hist, s); return true })
	if !slices.Equal(hist, []string{"first question"}) {
		t.Fatalf("history %v", hist)
	}
	if got := ParseGroups(" a, ,b ,c"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("ParseGroups: %v", got)
	}
}

func TestEvaluatePreparesCopy(t *testing.T) {
	e := mustCompile(t, Rules{Keywords: []KeywordRule{{Name: "k", Keywords: []string{"hello"}}}})
	req := &Request{Messages: []Message{{Role: RoleUser, Text: "Hello"}}}
	if _, ok := match(t, e, req, signal.Keyword, "k"); !ok {
		t.Fatal("unprepared request did not match")
	}
	if req.prepared {
		t.Fatal("Evaluate must not mutate an unprepared request")
	}
}

func TestConversationRules(t *testing.T) {
	e := mustCompile(t, Rules{Conversation: append(referenceRules().Conversation,
		ConversationRule{Name: "required_tools", FeatureType: "exists", SourceType: "tool_choice_required"},
		ConversationRule{Name: "two_calls", FeatureType: "count", SourceType: "assistant_tool_call", Predicate: &Predicate{GTE: Ptr(2)}},
	)})
	many := make([]Message, 0, 8)
	for i := 0; i < 6; i++ {
		many = append(many, Message{Role: RoleAssistant, Text: "a"})
	}
	cases := []struct {
		name string
		req  Request
		want []string
	}{
		{"single user turn", Request{Messages: []Message{{Role: RoleUser, Text: "hi"}}}, nil},
		{"multi turn with developer", Request{Messages: []Message{{Role: RoleDeveloper, Text: "d"}, {Role: RoleUser, Text: "a"}, {Role: RoleAssistant, Text: "b"}, {Role: RoleUser, Text: "c"}}},
			[]string{"has_developer_msg", "multi_turn_user"}},
		{"tools and loop", Request{ToolDefinitions: 2, ToolChoice: "required", Messages: []Message{{Role: RoleUser, Text: "go"}, {Role: RoleAssistant, ToolCalls: 2}, {Role: RoleTool, Text: "result"}}},
			[]string{"active_tool_use", "has_tools", "required_tools", "two_calls"}},
		{"assistant tool call pending", Request{Messages: []Message{{Role: RoleUser, Text: "go"}, {Role: RoleAssistant, ToolCalls: 1}}}, []string{"active_tool_use"}},
		{"heavy non user", Request{Messages: append([]Message{{Role: RoleUser, Text: "x"}}, many...)}, []string{"heavy_non_user"}},
		{"images", Request{Messages: []Message{{Role: RoleUser, Text: "what is this", Parts: []PartKind{PartImage}}}}, []string{"has_images"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if got := matched(t, e, req.Prepare(), signal.Conversation); !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMetadataRules(t *testing.T) {
	s := func(v string) *string { return &v }
	b := func(v bool) *bool { return &v }
	e := mustCompile(t, Rules{Metadata: []MetadataRule{
		{Name: "consent_denied", Key: "consent", Equals: s("denied")},
		{Name: "eu", Key: "region", In: []string{"eu-west", "eu-central"}},
		{Name: "has_tenant", Key: "tenant", Exists: b(true)},
		{Name: "no_tenant", Key: "tenant", Exists: b(false)},
	}})
	cases := []struct {
		name string
		md   map[string]string
		want []string
	}{
		{"nil metadata", nil, []string{"no_tenant"}},
		{"equals", map[string]string{"consent": "denied"}, []string{"consent_denied", "no_tenant"}},
		{"equals is exact", map[string]string{"consent": "Denied"}, []string{"no_tenant"}},
		{"in", map[string]string{"region": "eu-central", "tenant": "acme"}, []string{"eu", "has_tenant"}},
		{"not in", map[string]string{"region": "us-east"}, []string{"no_tenant"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := (&Request{Messages: []Message{{Role: RoleUser, Text: "x"}}, Metadata: tc.md}).Prepare()
			if got := matched(t, e, req, signal.Metadata); !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := Compile(Rules{Metadata: []MetadataRule{{Name: "x", Key: "k"}}}); err == nil || !strings.Contains(err.Error(), "metadata[0].predicate") {
		t.Fatalf("want predicate error, got %v", err)
	}
}

func TestRoleBindings(t *testing.T) {
	rbs := append(referenceRules().RoleBindings,
		RoleBinding{Name: "alice_admin", Role: "admin", Subjects: []Subject{{Kind: "User", Name: "alice"}}})
	e := mustCompile(t, Rules{RoleBindings: rbs})
	cases := []struct {
		name   string
		user   string
		groups []string
		want   []string
	}{
		{"group grants role", "bob", []string{"premium-tier"}, []string{"premium_user"}},
		{"user and group grant same role once", "alice", []string{"platform-admins"}, []string{"admin"}},
		{"two roles", "carol", []string{"platform-admins", "premium-tier"}, []string{"admin", "premium_user"}},
		{"group names are exact", "dave", []string{"Premium-Tier"}, nil},
		{"no groups", "erin", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := (&Request{Messages: []Message{{Role: RoleUser, Text: "x"}}, User: tc.user, Groups: tc.groups}).Prepare()
			if got := matched(t, e, req, signal.Authz); !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("missing identity fails closed", func(t *testing.T) {
		o := outcome(t, e.Evaluate(t.Context(), userTurn("x")), signal.Authz)
		if !errors.Is(o.Err, ErrNoIdentity) || len(o.Matches) != 0 {
			t.Fatalf("outcome %+v", o)
		}
	})
	_, err := Compile(Rules{RoleBindings: []RoleBinding{{Name: "x", Subjects: []Subject{{Kind: "Team", Name: ""}}}}})
	for _, want := range []string{"role_bindings[0].role", "role_bindings[0].subjects[0].kind", "role_bindings[0].subjects[0].name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
