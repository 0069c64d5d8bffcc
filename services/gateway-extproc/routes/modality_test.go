package routes

import (
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

func TestCardTextOnly(t *testing.T) {
	tests := []struct {
		name string
		card config.ModelCard
		want bool
	}{
		{"ar without capabilities", config.ModelCard{Modality: "ar"}, true},
		{"ar with other capabilities", config.ModelCard{Modality: "AR", Capabilities: []string{"chat", "code"}}, true},
		{"ar with vision", config.ModelCard{Modality: "ar", Capabilities: []string{"Vision"}}, false},
		{"ar with multimodal", config.ModelCard{Modality: "ar", Capabilities: []string{"multimodal"}}, false},
		{"omni", config.ModelCard{Modality: "omni"}, false},
		{"diffusion", config.ModelCard{Modality: "diffusion", Capabilities: []string{"image_generation"}}, false},
		{"no modality", config.ModelCard{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CardTextOnly(tc.card); got != tc.want {
				t.Errorf("CardTextOnly(%+v) = %v, want %v", tc.card, got, tc.want)
			}
		})
	}
}

func TestTextOnlyModelsPrecedence(t *testing.T) {
	cfg := &config.Config{
		Routing: config.Routing{ModelCards: []config.ModelCard{
			{Name: "a", Modality: "omni"}, {Name: "b"}, {Name: "c", Modality: "ar"},
		}},
		Recipes: []config.Recipe{{Routing: config.Routing{ModelCards: []config.ModelCard{
			{Name: "a", Modality: "ar"}, {Name: "b", Modality: "ar"}, {Name: "d", Modality: "ar", Capabilities: []string{"vision"}},
		}}}},
	}
	got := textOnlyModels(cfg)
	if got["a"] || !got["b"] || !got["c"] || got["d"] || len(got) != 2 {
		t.Errorf("textOnlyModels = %v, want b and c (top-level card wins, a recipe fills in a missing modality)", got)
	}
}
