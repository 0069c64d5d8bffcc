package routes

import (
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

func TestPricingFromConfig(t *testing.T) {
	cases := []struct {
		name string
		in   config.Pricing
		want Pricing
	}{
		{"reference block", config.Pricing{Currency: "USD", PromptPer1M: 0.18, CachedInputPer1M: 0.04, CacheWritePer1M: 0.225, CompletionPer1M: 0.42},
			Pricing{Currency: "USD", Prompt: 0.18, CachedInput: 0.04, CacheWrite: 0.225, Completion: 0.42}},
		{"unset cache prices are the prompt price", config.Pricing{Currency: "EUR", PromptPer1M: 1.2, CompletionPer1M: 3.4},
			Pricing{Currency: "EUR", Prompt: 1.2, CachedInput: 1.2, CacheWrite: 1.2, Completion: 3.4}},
		{"unset currency is USD, codes upper-cased", config.Pricing{PromptPer1M: 1}, Pricing{Currency: "USD", Prompt: 1, CachedInput: 1, CacheWrite: 1}},
		{"lower-case code", config.Pricing{Currency: " eur ", PromptPer1M: 1}, Pricing{Currency: "EUR", Prompt: 1, CachedInput: 1, CacheWrite: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := modelFromConfig(config.Model{Name: "m", Pricing: &tc.in})
			if m.Pricing == nil || *m.Pricing != tc.want {
				t.Fatalf("Pricing = %+v, want %+v", m.Pricing, tc.want)
			}
			if m.Price != tc.in.PromptPer1M+tc.in.CompletionPer1M {
				t.Fatalf("Price = %v", m.Price)
			}
		})
	}
	if m := modelFromConfig(config.Model{Name: "free"}); m.Pricing != nil {
		t.Fatalf("unpriced model has Pricing %+v", m.Pricing)
	}
}
