package config

import (
	"strings"
	"testing"
)

// TestHeaderSafety: names (sent as x-vsr-* header values) and the headers
// the router sends upstream are refused when they would break a header.
func TestHeaderSafety(t *testing.T) {
	plugins := `      plugins:
        - type: header_mutation
          configuration:
            add:
              - name: %NAME%
                value: %VALUE%
            delete: [%DELETE%]
`
	withPlugin := func(name, value, del string) string {
		p := strings.NewReplacer("%NAME%", name, "%VALUE%", value, "%DELETE%", del).Replace(plugins)
		return invalidBase + p
	}
	tests := []struct {
		name string
		doc  string
		path string // "" for a valid document
		msg  string
	}{
		{name: "plain header mutation", doc: withPlugin("x-tenant", "acme\tblue", "x-drop"), path: ""},
		{name: "CR LF in a decision name", doc: strings.Replace(invalidBase, "    - name: d1", `    - name: "d1\r\nx-evil: 1"`, 1),
			path: "routing.decisions[0].name", msg: "control character"},
		{name: "LF in a model name", doc: strings.Replace(invalidBase, "    - name: m2", `    - name: "m2\nx"`, 1),
			path: "providers.models[1].name", msg: "control character"},
		{name: "LF in a header value", doc: withPlugin("x-tenant", `"a\nb"`, "x-drop"),
			path: "routing.decisions[0].plugins[0].configuration.add[0].value", msg: "control character"},
		{name: "space in a header name", doc: withPlugin(`"x tenant"`, "a", "x-drop"),
			path: "routing.decisions[0].plugins[0].configuration.add[0].name", msg: "not a valid HTTP header name"},
		{name: "colon in a deleted header", doc: withPlugin("x-tenant", "a", `"x-drop: 1"`),
			path: "routing.decisions[0].plugins[0].configuration.delete[0]", msg: "not a valid HTTP header name"},
		{name: "LF in an api key", doc: strings.Replace(invalidBase, `backend_refs: [{name: b, endpoint: "127.0.0.1:8001"}]`,
			`backend_refs: [{name: b, endpoint: "127.0.0.1:8001", api_key: "sk-1\r\nx: y"}]`, 1),
			path: "providers.models[1].backend_refs[0].api_key", msg: "control character"},
		{name: "bad extra header name", doc: strings.Replace(invalidBase, `backend_refs: [{name: b, endpoint: "127.0.0.1:8001"}]`,
			`backend_refs: [{name: b, endpoint: "127.0.0.1:8001", extra_headers: {"x(a)": v}}]`, 1),
			path: "providers.models[1].backend_refs[0].extra_headers.x(a)", msg: "not a valid HTTP header name"},
		{name: "identity headers", doc: invalidBase + "global:\n  services:\n    authz:\n      identity: {user_id_header: X-User, user_groups_header: x-groups}\n"},
		{name: "space in the identity header", doc: invalidBase + "global:\n  services:\n    authz:\n      identity: {user_id_header: \"x user\"}\n",
			path: "global.services.authz.identity.user_id_header", msg: "not a valid HTTP header name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(tc.doc), "headers.yaml")
			if tc.path == "" {
				if err != nil {
					t.Fatalf("valid document refused: %v\n%s", err, probs)
				}
				return
			}
			for _, p := range probs.Errors() {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if p.Line == 0 {
						t.Errorf("problem at %s has no line", p.Path)
					}
					return
				}
			}
			t.Fatalf("no error at %s containing %q; got:\n%s", tc.path, tc.msg, probs)
		})
	}
}
