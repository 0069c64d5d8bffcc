package routes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const toolsDoc = pluginDocHead + keywordSignals + `    - name: plain
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
    - name: tools
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: tools
          configuration: {enabled: true, mode: filtered, block_tools: [exec_cmd]}
        - type: tool_selection
          configuration:
            enabled: true
            mode: add
            tools_db_path: DB
`

func TestToolsPluginsFromConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "db.json")
	if err := os.WriteFile(good, []byte(`[{"type":"function","function":{"name":"get_weather","description":"weather"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"type":"function","function":{}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		db      string
		wantErr []string
	}{
		{"loads the database", good, nil},
		{"missing file rejects the revision", filepath.Join(dir, "missing.json"),
			[]string{"routing.decisions[1].plugins[1].configuration.tools_db_path", "read tools database", "(line 25)"}},
		{"invalid file rejects the revision", bad,
			[]string{"routing.decisions[1].plugins[1].configuration.tools_db_path", "[0]: function.name is required", "(line 25)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseDoc(t, strings.Replace(toolsDoc, "DB", tc.db, 1), "tools")
			spec, err := FromConfig(cfg, 3)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("revision accepted")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Decisions[0].Plugins.Tools != nil {
				t.Error("plain decision has a tools policy")
			}
			p := spec.Decisions[1].Plugins.Tools
			if p == nil || p.Tools == nil || p.Selection == nil || p.Selection.DB == nil || len(p.Selection.DB.Tools) != 1 {
				t.Fatalf("tools policy %+v", p)
			}
			if !p.Tools.Block.Has("exec_cmd") {
				t.Error("block list lost")
			}
		})
	}
}
