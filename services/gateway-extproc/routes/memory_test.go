package routes

import (
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/memory"
)

const memoryDecision = `    - name: d1
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: memory
          configuration:
            enabled: true
            auto_store: true
            reflection: {enabled: true, algorithm: recency_semantic, recency_decay_days: 7, max_inject_tokens: 100, dedup_threshold: 0.8, block_patterns: [secret]}
`

func TestAttachMemory(t *testing.T) {
	tests := []struct {
		name      string
		global    string
		wantOn    bool
		wantStore memory.StoreConfig
	}{
		{name: "no global block: in process", wantOn: true, wantStore: memory.StoreConfig{Backend: memory.BackendLocal}},
		{name: "valkey", global: "global:\n  stores:\n    memory: {enabled: true, backend: valkey, disabled_models: [m9], valkey: {host: v, port: 6380, database: 2, password: pw, timeout: 3, collection_prefix: 'm:'}}\n",
			wantOn: true, wantStore: memory.StoreConfig{Backend: memory.BackendValkey, Valkey: memory.ValkeyConfig{Addr: "v:6380", Password: "pw", DB: 2, KeyPrefix: "m:", Timeout: 3 * time.Second}}},
		{name: "disabled store", global: "global:\n  stores:\n    memory: {enabled: false, backend: valkey}\n"},
		{name: "milvus has no effect", global: "global:\n  stores:\n    memory: {enabled: true, backend: milvus}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, spec := specFromDoc(t, pluginDocHead+keywordSignals+memoryDecision+tc.global, tc.name, 1)
			p := spec.Decisions[0].Plugins.Memory
			if (p != nil) != tc.wantOn {
				t.Fatalf("plugin on = %v, want %v", p != nil, tc.wantOn)
			}
			if !tc.wantOn {
				return
			}
			if spec.Memory != tc.wantStore {
				t.Errorf("store %+v, want %+v", spec.Memory, tc.wantStore)
			}
			if !spec.NeedsEmbedding {
				t.Error("memory needs the query embedding")
			}
			if !p.AutoStore || p.HalfLife != 7*24*time.Hour || p.MaxInjectBytes != 400 || p.DedupThreshold != 0.8 ||
				!p.Blocked("my SECRET") || p.RetrievalLimit != memory.DefaultRetrievalLimit {
				t.Errorf("plugin %+v", p)
			}
			if tc.wantStore.Backend == memory.BackendValkey && !p.Disabled("d1", "m9") {
				t.Error("disabled_models not honoured")
			}
		})
	}
}
