package subjects

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
)

func TestToken(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "qwen3-8b", "qwen3-8b"},
		{"empty", "", "_"},
		{"dots and slashes", "BAAI/bge-small-en-v1.5", "BAAI_bge-small-en-v1_5"},
		{"wildcards", "a*b>c", "a_b_c"},
		{"spaces", "my model", "my_model"},
		{"unicode", "modèle", "mod_le"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Token(tc.in); got != tc.want {
				t.Fatalf("Token(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseProcedure(t *testing.T) {
	tests := []struct {
		name, in, service, method string
		wantErr                   bool
	}{
		{"generated", configv1connect.ConfigServiceGetConfigProcedure, "semrouter.config.v1.ConfigService", "GetConfig", false},
		{"no leading slash", "a.B/C", "a.B", "C", false},
		{"no method", "/a.B", "", "", true},
		{"empty method", "/a.B/", "", "", true},
		{"extra segment", "/a.B/C/D", "", "", true},
		{"empty package part", "/a..B/C", "", "", true},
		{"wildcard", "/a.*/C", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, m, err := ParseProcedure(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseProcedure(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if s != tc.service || m != tc.method {
				t.Fatalf("ParseProcedure(%q) = %q, %q; want %q, %q", tc.in, s, m, tc.service, tc.method)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"rpc", RPC(configv1connect.ConfigServiceGetConfigProcedure), "semrouter.rpc.semrouter.config.v1.ConfigService.GetConfig"},
		{"rpc invalid", RPC("nonsense"), "semrouter.rpc.invalid.nonsense"},
		{"rpc suffix", RPCWithSuffix(cachev1connect.CacheServiceLookupProcedure, "gpu"), "semrouter.rpc.semrouter.cache.v1.CacheService.Lookup.gpu"},
		{"rpc empty suffix", RPCWithSuffix(cachev1connect.CacheServiceLookupProcedure, ""), "semrouter.rpc.semrouter.cache.v1.CacheService.Lookup"},
		{"embed model", EmbedModel("BAAI/bge-m3"), "semrouter.rpc.semrouter.embedding.v1.EmbeddingService.Embed.BAAI_bge-m3"},
		{"rpc service", RPCService(embeddingv1connect.EmbeddingServiceName), "semrouter.rpc.semrouter.embedding.v1.EmbeddingService.>"},
		{"queue group", QueueGroup(embeddingv1connect.EmbeddingServiceName), "semrouter_embedding_v1_EmbeddingService"},
		{"config status", ConfigStatus("classifier", "pod-1.example"), "semrouter.config.status.classifier.pod-1_example"},
		{"cache write", CacheWrite("math route"), "semrouter.cache.writes.math_route"},
		{"cache write empty", CacheWrite(""), "semrouter.cache.writes._"},
		{"latency", Latency("qwen3-8b"), "semrouter.latency.qwen3-8b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// TestNamesAreValid checks every name against nats-server's own validation.
func TestNamesAreValid(t *testing.T) {
	literal := []string{
		EmbedModel("m"), CacheWrite("d"), CacheControl(), Latency("m"), ConfigStatus("s", "i"),
	}
	for _, svc := range Services() {
		literal = append(literal, RPC("/"+svc+"/Method"))
	}
	seen := map[string]bool{}
	for _, s := range literal {
		if !server.IsValidLiteralSubject(s) {
			t.Errorf("%q is not a valid literal subject", s)
		}
		if seen[s] {
			t.Errorf("%q named twice", s)
		}
		seen[s] = true
	}
	for _, s := range []string{CacheWritesAll(), LatencyAll(), ConfigStatusAll(), RPCService("a.B")} {
		if !server.IsValidSubject(s) {
			t.Errorf("%q is not a valid subject filter", s)
		}
	}
	if !server.SubjectsCollide(CacheWritesAll(), CacheWrite("x")) {
		t.Errorf("%q does not match %q", CacheWritesAll(), CacheWrite("x"))
	}
	if !server.SubjectsCollide(LatencyAll(), Latency("x")) {
		t.Errorf("%q does not match %q", LatencyAll(), Latency("x"))
	}
	if !server.SubjectsCollide(ConfigStatusAll(), ConfigStatus("a", "b")) {
		t.Errorf("%q does not match %q", ConfigStatusAll(), ConfigStatus("a", "b"))
	}
	if server.SubjectsCollide(RPCService(embeddingv1connect.EmbeddingServiceName), RPC(cachev1connect.CacheServiceLookupProcedure)) {
		t.Error("embedding wildcard matches a cache procedure")
	}
	for _, name := range []string{ConfigBucket(), CacheWritesStream()} {
		if name == "" || Token(name) != name {
			t.Errorf("bucket/stream name %q is not a single token", name)
		}
	}
}
