package service_test

import (
	"testing"

	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
)

// TestTrustedProxiesOption: Options.TrustedProxies reaches API mode. The
// default (nil: loopback) honours the test's loopback client; an empty
// set removes its identity and debug headers, and the removals are
// counted in semrouter_gateway_untrusted_headers_removed_total.
func TestTrustedProxiesOption(t *testing.T) {
	cases := []struct {
		name    string
		trusted *apimode.TrustedProxies
		honour  bool
	}{
		{name: "default loopback", honour: true},
		{name: "trust nobody", trusted: &apimode.TrustedProxies{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s := startStackWith(t, stackOptions{registry: reg, trusted: tc.trusted})
			_, resp := s.ask(t, "auto", "write code", option.WithHeader("x-authz-user-id", "alice"),
				option.WithHeader("x-authz-user-groups", "admins"), option.WithHeader("x-vsr-debug", "true"))
			if resp.Header.Get("x-vsr-selected-decision") != "coding" {
				t.Fatalf("not routed: %v", resp.Header)
			}
			id := s.cls.last().GetFacts().GetIdentity()
			if got := id.GetUser() == "alice" && len(id.GetGroups()) == 1; got != tc.honour {
				t.Fatalf("identity %v honoured = %v, want %v", id, got, tc.honour)
			}
			if got := resp.Header.Get("x-vsr-matched-keywords") == "code"; got != tc.honour {
				t.Fatalf("debug headers shown = %v, want %v", got, tc.honour)
			}
			for _, kind := range []string{apimode.RemovedUserID, apimode.RemovedUserGroups, apimode.RemovedDebug} {
				n, _ := labelValue(t, reg, "semrouter_gateway_untrusted_headers_removed_total", "header", kind)
				if want := map[bool]float64{true: 0, false: 1}[tc.honour]; n != want {
					t.Errorf("removed %s = %v, want %v", kind, n, want)
				}
			}
		})
	}
}

// labelValue reads the counter sample of name whose label is value.
func labelValue(t *testing.T, reg *prometheus.Registry, name, label, value string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}
