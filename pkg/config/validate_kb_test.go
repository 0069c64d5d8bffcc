package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kbDoc is invalidBase with a knowledge base, a kb signal and a kb_metric
// projection input added; cases replace parts of it.
func kbDoc() string {
	return strings.Replace(invalidBase, "  decisions:\n", kbSignals, 1) + kbGlobal
}

const kbSignals = `    kb:
      - name: billing_rule
        kb: support
        target: {kind: group, value: money}
        match: best
  projections:
    scores:
      - name: money_bias
        method: weighted_sum
        inputs:
          - type: kb_metric
            kb: support
            metric: money_vs_chat
            weight: 1
  decisions:
`

const kbGlobal = `global:
  model_catalog:
    kbs:
      - name: support
        source: {path: kb/support, manifest: labels.json}
        threshold: 0.4
        prototype_scoring: {enabled: true, cluster_similarity_threshold: 0.9, max_prototypes: 4, best_weight: 0.75, top_m: 2}
        label_thresholds: {billing: 0.5}
        groups:
          money: [billing]
          chat: [chit_chat]
        metrics:
          - name: money_vs_chat
            type: group_margin
            positive_group: money
            negative_group: chat
`

func TestKBValidation(t *testing.T) {
	cases := []struct {
		name      string
		old, new  string
		wantPaths []string // error paths
	}{
		{name: "valid"},
		{name: "no source", old: "        source: {path: kb/support, manifest: labels.json}\n", new: "", wantPaths: []string{"global.model_catalog.kbs[0].source"}},
		{name: "empty path", old: "path: kb/support,", new: "path: \"\",", wantPaths: []string{"global.model_catalog.kbs[0].source.path"}},
		{name: "manifest escapes", old: "manifest: labels.json", new: "manifest: ../labels.json", wantPaths: []string{"global.model_catalog.kbs[0].source.manifest"}},
		{name: "threshold out of range", old: "threshold: 0.4", new: "threshold: 1.4", wantPaths: []string{"global.model_catalog.kbs[0].threshold"}},
		{name: "label threshold out of range", old: "{billing: 0.5}", new: "{billing: -0.5}", wantPaths: []string{"global.model_catalog.kbs[0].label_thresholds.billing"}},
		{name: "best weight out of range", old: "best_weight: 0.75", new: "best_weight: 2", wantPaths: []string{"global.model_catalog.kbs[0].prototype_scoring.best_weight"}},
		{name: "negative top_m", old: "top_m: 2", new: "top_m: -1", wantPaths: []string{"global.model_catalog.kbs[0].prototype_scoring.top_m"}},
		{name: "empty group", old: "chat: [chit_chat]", new: "chat: []", wantPaths: []string{"global.model_catalog.kbs[0].groups.chat"}},
		{name: "unknown metric type", old: "type: group_margin", new: "type: ratio", wantPaths: []string{"global.model_catalog.kbs[0].metrics[0].type"}},
		{name: "unknown metric group", old: "negative_group: chat", new: "negative_group: nope", wantPaths: []string{"global.model_catalog.kbs[0].metrics[0].negative_group"}},
		{name: "unknown match", old: "match: best", new: "match: first", wantPaths: []string{"routing.signals.kb[0].match"}},
		{name: "unknown target kind", old: "kind: group,", new: "kind: cluster,", wantPaths: []string{"routing.signals.kb[0].target.kind"}},
		{name: "missing target value", old: "value: money}", new: "value: \"\"}", wantPaths: []string{"routing.signals.kb[0].target.value"}},
		{name: "unknown group target", old: "value: money}", new: "value: nope}", wantPaths: []string{"routing.signals.kb[0].target.value"}},
		{name: "undeclared kb", old: "        kb: support\n        target", new: "        kb: other\n        target", wantPaths: []string{"routing.signals.kb[0].kb"}},
		{name: "unknown metric input", old: "metric: money_vs_chat", new: "metric: nope", wantPaths: []string{"routing.projections.scores[0].inputs[0].metric"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := kbDoc()
			if tc.old != "" {
				if !strings.Contains(doc, tc.old) {
					t.Fatalf("case edits %q, which is not in the document", tc.old)
				}
				doc = strings.Replace(doc, tc.old, tc.new, 1)
			}
			_, probs, _ := Parse([]byte(doc), "kb.yaml")
			var got []string
			for _, p := range probs.Errors() {
				got = append(got, p.Path)
				if p.Line == 0 {
					t.Errorf("error without a line: %v", p)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.wantPaths, "\n") {
				t.Errorf("error paths\n got %q\nwant %q\n%s", got, tc.wantPaths, probs)
			}
			for _, p := range probs {
				if strings.Contains(p.Path, "kb") && strings.Contains(p.Message, "not evaluated") || strings.Contains(p.Message, "does not act on it") && strings.Contains(p.Path, "kbs") {
					t.Errorf("kb warned as unevaluated: %v", p)
				}
			}
		})
	}
}

func TestKBDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	cfg, _, err := Parse([]byte(kbDoc()), path)
	if err != nil {
		t.Fatal(err)
	}
	kb := &cfg.Global.ModelCatalog.KBs[0]
	// Not loaded from an existing file: relative to the working directory.
	if got := cfg.KBDir(kb); got != filepath.Join("kb", "support") {
		t.Errorf("KBDir without a file = %q", got)
	}
	kb.Source.Path = "/srv/kb"
	if got := cfg.KBDir(kb); got != "/srv/kb" {
		t.Errorf("absolute KBDir = %q", got)
	}
	// Loaded from a file: relative to the file's folder.
	if err := os.WriteFile(path, []byte(kbDoc()), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.KBDir(&loaded.Global.ModelCatalog.KBs[0]); got != filepath.Join(dir, "kb", "support") {
		t.Errorf("KBDir of a loaded file = %q", got)
	}
	if got := cfg.KBDir(&KnowledgeBase{}); got != "" {
		t.Errorf("KBDir without source = %q", got)
	}
}
