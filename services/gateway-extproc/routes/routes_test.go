package routes

import (
	"strings"
	"testing"
)

func TestCompileCollectsEveryProblem(t *testing.T) {
	spec := Spec{
		DefaultModel:      "missing",
		ReasoningFamilies: map[string]ReasoningFamily{"bad": {Type: "magic"}},
		Models: []Model{
			{Name: "a", ReasoningFamily: "nope", Backends: []Backend{{Name: "x"}}},
			{Name: "a", Backends: []Backend{{Endpoint: "h:1", Weight: -1}}},
			{},
		},
		Entrypoints: []Entrypoint{{Recipe: "r"}},
		Decisions:   []Decision{{Name: "d", ModelRefs: []ModelRef{{Model: "ghost"}}}},
	}
	_, err := Compile(spec)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{
		`providers.models[0].reasoning_family: unknown family "nope"`,
		`providers.models[0].backend_refs[0]: endpoint or base_url must be set`,
		`providers.models[1].name: duplicate model "a"`,
		`providers.models[1].backend_refs[0].weight: must not be negative`,
		`providers.models[2].name: must be set`,
		`providers.defaults.reasoning_families.bad.type: unknown type "magic"`,
		`providers.defaults.default_model: unknown model "missing"`,
		`entrypoints[0].model_names: must not be empty`,
		`routing.decisions[0].modelRefs[0].model: unknown model "ghost"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLookups(t *testing.T) {
	tbl, err := Compile(Spec{
		DefaultModel: "m",
		Models:       []Model{{Name: "m", ProviderModelID: "m-v1", Backends: []Backend{{Endpoint: "h:1"}}}},
		Entrypoints:  []Entrypoint{{ModelNames: []string{"vllm-sr/x"}, Recipe: "rx"}},
		Decisions:    []Decision{{Name: "d", ModelRefs: []ModelRef{{Model: "m"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		auto   bool
		recipe string
	}{
		{"auto", true, ""}, {"MoM", true, ""}, {"vllm-sr/auto", true, ""}, {"vllm-sr/x", true, "rx"}, {"m", false, ""},
	}
	for _, tc := range cases {
		recipe, ok := tbl.IsAuto(tc.name)
		if ok != tc.auto || recipe != tc.recipe {
			t.Errorf("IsAuto(%q) = %q,%v", tc.name, recipe, ok)
		}
	}
	if m, ok := tbl.Model("m-v1"); !ok || m.Name != "m" || m.UpstreamModelID() != "m-v1" {
		t.Fatalf("lookup by provider id: %+v %v", m, ok)
	}
	if _, ok := tbl.Decision("d"); !ok {
		t.Fatal("decision not indexed")
	}
	if tbl.MaxBodyBytes != 10<<20 || tbl.StageTimeout <= 0 {
		t.Fatalf("defaults not applied: %d %v", tbl.MaxBodyBytes, tbl.StageTimeout)
	}
	if got := strings.Join(tbl.EntrypointNames(), ","); got != "vllm-sr/x" {
		t.Fatalf("entrypoint names %s", got)
	}
}
