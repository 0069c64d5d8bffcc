package cachekey

import (
	"strings"
	"testing"
)

// baseBody is the OpenAI form of the base request of the cache service's
// fingerprint tests (pkg/cachekey/cachekey_test.go, baseRequest).
const baseBody = `{"model":"auto","messages":[
 {"role":"system","content":"You are terse."},
 {"role":"user","content":"Hi"},
 {"role":"assistant","content":"Hello."},
 {"role":"user","content":"What is   the capital\nof France?"}],
 "tools":[{"type":"function","function":{"name":"geo","parameters":{"type":"object"}}}],
 "response_format":{"type":"json_object"},
 "temperature":0.2,"max_tokens":100}`

// The digests pinned in pkg/cachekey/testdata/
// fingerprint.golden for that request: the gateway and the cache must agree
// byte for byte, or no lookup would ever hit.
const (
	goldenExact   = "5159f69ad68a513fbbf9c57e82e1c345a2be12b683865f7624473fca604922e4"
	goldenContext = "0182c0904d9089fc84a5f58fb7e3b1b10ccf5905f1f98b11cb788575858f6abb"
)

func mustCompute(t *testing.T, body string) Keys {
	t.Helper()
	k, err := Compute([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMatchesCacheServiceGolden(t *testing.T) {
	k := mustCompute(t, baseBody)
	if k.Exact != goldenExact || k.Context != goldenContext || !k.HasUser {
		t.Fatalf("got %+v\nwant exact %s context %s", k, goldenExact, goldenContext)
	}
}

func TestFingerprintSemantics(t *testing.T) {
	base := mustCompute(t, baseBody)
	tests := []struct {
		name        string
		body        string
		sameExact   bool
		sameContext bool
	}{
		{"model and stream ignored", strings.Replace(baseBody, `"model":"auto"`, `"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"user":"u1"`, 1), true, true},
		{"whitespace and key order", strings.Replace(strings.Replace(baseBody, `"What is   the capital\nof France?"`, `"  What is the capital of\tFrance? "`, 1),
			`{"type":"json_object"}`, `{ "type" : "json_object" }`, 1), true, true},
		{"equal numbers", strings.Replace(strings.Replace(baseBody, `"max_tokens":100`, `"max_tokens":100.0`, 1), `0.2`, `2e-1`, 1), true, true},
		{"null param", strings.Replace(baseBody, `"max_tokens":100`, `"max_tokens":100,"seed":null`, 1), true, true},
		{"last user turn", strings.Replace(baseBody, "What is   the capital\\nof France?", "Capital of Spain?", 1), false, true},
		{"earlier turn", strings.Replace(baseBody, `"Hi"`, `"Hey"`, 1), false, false},
		{"system prompt", strings.Replace(baseBody, "You are terse.", "You are verbose.", 1), false, false},
		{"temperature", strings.Replace(baseBody, `0.2`, `0.3`, 1), false, false},
		{"tools", strings.Replace(baseBody, `"name":"geo"`, `"name":"geo2"`, 1), false, false},
		{"response format", strings.Replace(baseBody, `"json_object"`, `"text"`, 1), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := mustCompute(t, tc.body)
			if (k.Exact == base.Exact) != tc.sameExact || (k.Context == base.Context) != tc.sameContext {
				t.Fatalf("exact same=%v context same=%v, want %v %v", k.Exact == base.Exact, k.Context == base.Context, tc.sameExact, tc.sameContext)
			}
		})
	}
}

func TestNoUserTurn(t *testing.T) {
	k := mustCompute(t, `{"model":"m","messages":[{"role":"system","content":"x"}]}`)
	if k.HasUser || k.Context != k.Exact {
		t.Fatalf("%+v", k)
	}
}

func TestContentParts(t *testing.T) {
	a := mustCompute(t, `{"messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:x"}}]}]}`)
	b := mustCompute(t, `{"messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:y"}}]}]}`)
	if a.Exact == b.Exact {
		t.Fatal("different images hash alike")
	}
}

func TestRejectsNonObject(t *testing.T) {
	if _, err := Compute([]byte(`[1]`)); err == nil {
		t.Fatal("want error")
	}
}

func BenchmarkCompute(b *testing.B) {
	body := []byte(baseBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(body); err != nil {
			b.Fatal(err)
		}
	}
}
