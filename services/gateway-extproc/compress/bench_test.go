package compress

import (
	"context"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

// BenchmarkApply50KB compresses a conversation of about 50 KB (two tool
// outputs, three turns) to a 2000-token target with history drop_oldest.
func BenchmarkApply50KB(b *testing.B) {
	body := conversation(b, 1150)
	p, err := New(&config.ContextCompressionPlugin{Enabled: true, Targets: map[string]config.CompressionTarget{
		"tool_outputs": {MinTokens: 500, TargetTokens: 1000}, "history": {Mode: "drop_oldest"}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	bud := Budgets{Trigger: 4000, Target: 2000}
	r, err := p.Apply(ctx, body, 0, bud, sizer)
	if err != nil || !r.Changed {
		b.Fatalf("not compressed: %v", err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Apply(ctx, body, 0, bud, sizer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyUnderTrigger is the cost for a request that needs no
// compression (one pass over the messages).
func BenchmarkApplyUnderTrigger(b *testing.B) {
	body := conversation(b, 1150)
	p, err := New(&config.ContextCompressionPlugin{Enabled: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Apply(ctx, body, 0, Budgets{Trigger: 1 << 30, Target: 1 << 30}, sizer); err != nil {
			b.Fatal(err)
		}
	}
}
