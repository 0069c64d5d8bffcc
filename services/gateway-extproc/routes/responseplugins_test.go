package routes

import (
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

// TestResponsePluginsFromReference maps the reference config's
// response_jailbreak and router_replay plugins.
func TestResponsePluginsFromReference(t *testing.T) {
	cfg, _, err := config.Load(filepath.Join(repoRoot(t), "..", "shared", "upstream", "reference-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := FromConfig(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	var jb *ResponseJailbreakPlugin
	var rr *RouterReplayPlugin
	for _, d := range spec.Decisions {
		if d.Plugins.ResponseJailbreak != nil {
			jb = d.Plugins.ResponseJailbreak
		}
		if d.Plugins.RouterReplay != nil {
			rr = d.Plugins.RouterReplay
		}
	}
	if jb == nil || jb.Threshold != 0.85 || jb.Action != "header" || jb.Block() {
		t.Errorf("response_jailbreak %+v", jb)
	}
	if rr == nil || *rr != (RouterReplayPlugin{MaxRecords: 10000, CaptureRequestBody: true, CaptureResponseBody: true, MaxBodyBytes: 4096, MaxToolTraceSteps: rr.MaxToolTraceSteps}) {
		t.Errorf("router_replay %+v", rr)
	}
}

func TestResponsePluginDefaultsAndOff(t *testing.T) {
	cases := []struct {
		name   string
		plugin config.Plugin
		want   Plugins
	}{
		{"jailbreak defaults", config.Plugin{Type: config.PluginResponseJailbreak, Configuration: &config.ResponseJailbreakPlugin{Enabled: true}},
			Plugins{ResponseJailbreak: &ResponseJailbreakPlugin{Threshold: 0.5, Action: "header"}}},
		{"jailbreak off", config.Plugin{Type: config.PluginResponseJailbreak, Configuration: &config.ResponseJailbreakPlugin{Action: "block"}}, Plugins{}},
		{"replay defaults", config.Plugin{Type: config.PluginRouterReplay, Configuration: &config.RouterReplayPlugin{Enabled: true}},
			Plugins{RouterReplay: &RouterReplayPlugin{MaxRecords: 200, MaxBodyBytes: 4096}}},
		{"replay off", config.Plugin{Type: config.PluginRouterReplay, Configuration: &config.RouterReplayPlugin{MaxRecords: 5}}, Plugins{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Plugins
			responsePluginFromConfig(tc.plugin, &got)
			switch {
			case (got.ResponseJailbreak == nil) != (tc.want.ResponseJailbreak == nil),
				got.ResponseJailbreak != nil && *got.ResponseJailbreak != *tc.want.ResponseJailbreak,
				(got.RouterReplay == nil) != (tc.want.RouterReplay == nil),
				got.RouterReplay != nil && *got.RouterReplay != *tc.want.RouterReplay:
				t.Errorf("got %+v %+v, want %+v %+v", got.ResponseJailbreak, got.RouterReplay, tc.want.ResponseJailbreak, tc.want.RouterReplay)
			}
		})
	}
}
