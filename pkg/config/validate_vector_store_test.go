package config

import "testing"

// TestVectorStoreValidation: global.stores.vector_store runs (no "does not
// act on it" warning); bad values are errors, values without effect
// warnings, each at its YAML path with a line.
func TestVectorStoreValidation(t *testing.T) {
	const vs = "global.stores.vector_store"
	type want = wantProblem
	cases := []struct {
		name  string
		block string
		want  []want
	}{
		{"memory is quiet", `{enabled: true, backend_type: memory, file_storage_dir: /data, max_file_size_mb: 10, ingestion_workers: 2, ingestion_drain_timeout_seconds: 5, supported_formats: [.txt, .md], embedding_dimension: 512}`, nil},
		{"defaults are quiet", `{enabled: true}`, nil},
		{"negative numbers", `{enabled: true, max_file_size_mb: -1, ingestion_workers: -2, ingestion_drain_timeout_seconds: -3, embedding_dimension: -4, memory: {max_entries_per_store: -5}}`,
			[]want{{SeverityError, vs + ".max_file_size_mb", "must be positive"}, {SeverityError, vs + ".embedding_dimension", "must be positive"},
				{SeverityError, vs + ".ingestion_workers", "at least 1"}, {SeverityError, vs + ".ingestion_drain_timeout_seconds", "must not be negative"},
				{SeverityError, vs + ".memory.max_entries_per_store", "must not be negative"}}},
		{"formats need a dot", `{enabled: true, supported_formats: [txt, ".md"]}`,
			[]want{{SeverityError, vs + ".supported_formats[0]", "starting with '.'"}}},
		{"pdf has no effect", `{enabled: true, supported_formats: [.txt, .pdf]}`,
			[]want{{SeverityWarning, vs + ".supported_formats[1]", "PDF uploads are refused"}}},
		{"other backends fall back to memory", `{enabled: true, backend_type: milvus}`,
			[]want{{SeverityWarning, vs + ".backend_type", "keeps its index in process"}}},
		{"valkey runs", `{enabled: true, backend_type: valkey, valkey: {host: vk, port: 6379, database: 1, password: pw, connect_timeout: 5, timeout: 3, collection_prefix: "vsr_vs_"}}`, nil},
		{"redis needs the valkey block", `{enabled: true, backend_type: redis}`,
			[]want{{SeverityError, vs + ".valkey", "required for backend_type redis"}}},
		{"valkey values", `{enabled: true, backend_type: valkey, file_storage_dir: /d, valkey: {port: 70000, database: -1, timeout: -1, connect_timeout: -2}}`,
			[]want{{SeverityError, vs + ".valkey.host", "required"}, {SeverityError, vs + ".valkey.port", "out of range"},
				{SeverityError, vs + ".valkey.database", "must not be negative"}, {SeverityError, vs + ".valkey.timeout", "must not be negative"},
				{SeverityError, vs + ".valkey.connect_timeout", "must not be negative"},
				{SeverityWarning, vs + ".file_storage_dir", "has no effect with backend_type valkey"}}},
		{"index settings have no effect", `{enabled: true, backend_type: valkey, valkey: {host: vk, metric_type: COSINE, index_m: 16, index_ef_construction: 200}, milvus: {}}`,
			[]want{{SeverityWarning, vs + ".valkey", "metric_type, index_m and index_ef_construction have no effect"},
				{SeverityWarning, vs, "milvus, llama_stack, qdrant and metadata_store settings have no effect"}}},
		{"inactive valkey block still checked", `{enabled: true, backend_type: memory, valkey: {database: -1}}`,
			[]want{{SeverityError, vs + ".valkey.database", "must not be negative"}, {SeverityWarning, vs, "keeps its index and metadata in process"}}},
		{"unknown backend", `{enabled: true, backend_type: faiss}`,
			[]want{{SeverityWarning, vs + ".backend_type", "faiss"}, {SeverityWarning, vs + ".backend_type", "keeps its index in process"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  stores:\n    vector_store: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "vector_store.yaml", vs, tc.want, 0)
		})
	}
	t.Run("dimension differs from the embedder", func(t *testing.T) {
		doc := invalidBase + "global:\n  model_catalog:\n    embeddings:\n      semantic:\n        embedding_config: {target_dimension: 256}\n" +
			"  stores:\n    vector_store: {enabled: true, embedding_dimension: 384}\n"
		checkProblemsUnder(t, doc, "vector_store.yaml", vs, []want{{SeverityWarning, vs + ".embedding_dimension", "differs from the router embedder's 256"}}, 0)
	})
}

// TestRAGVectorStoreValidation: backend vectorstore runs; its
// backend_config is checked, and a config without an enabled vector store
// is told that retrieval fails.
func TestRAGVectorStoreValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	off := want{SeverityWarning, cp + ".backend_config.vector_store_id", "global.stores.vector_store is not enabled"}
	runPluginCases(t, "rag_vectorstore.yaml", []pluginCase{
		{"store id", `{type: rag, configuration: {enabled: true, backend: vectorstore, backend_config: {vector_store_id: vs_1, file_ids: [file-1]}}}`,
			[]want{off}},
		{"store id required", `{type: rag, configuration: {enabled: true, backend: vectorstore, backend_config: {file_ids: [file-1]}}}`,
			[]want{{SeverityError, cp + ".backend_config.vector_store_id", "required for backend vectorstore"}, off}},
		{"file ids must be strings", `{type: rag, configuration: {enabled: true, backend: vectorstore, backend_config: {vector_store_id: vs_1, file_ids: [1]}}}`,
			[]want{{SeverityError, cp + ".backend_config.file_ids[0]", "expected a file id string"}, off}},
	}, nil)
}
