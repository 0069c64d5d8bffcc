package milvus

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/cachetest"
)

// TestBackendContract runs the shared backend contract against a real
// Milvus named by MILVUS_ADDR (host:port). Milvus cannot run on this
// machine, so without MILVUS_ADDR the test is skipped (the one allowed
// skip, also with CI=true).
func TestBackendContract(t *testing.T) {
	addr := os.Getenv("MILVUS_ADDR")
	if addr == "" {
		t.Skip("MILVUS_ADDR is not set: the Milvus contract suite needs a running Milvus (e.g. MILVUS_ADDR=127.0.0.1:19530)")
	}
	var n atomic.Int64
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	cachetest.RunBackendSuite(t, func(t *testing.T, opts cache.Options) cache.Backend {
		cfg := Config{Addr: addr, Collection: "semrouter_test_" + run + "_" + strconv.FormatInt(n.Add(1), 10),
			DropOnStart: true, IndexType: "FLAT"}
		b, err := New(t.Context(), cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = b.DropCollection(context.Background())
			_ = b.Close()
		})
		return b
	})
}

func TestPayloadRoundTrip(t *testing.T) {
	e := &cache.Entry{
		Partition: cache.Partition{Revision: "r", Decision: "d", Model: "m", Tenant: "t", Team: "tm", User: "u", Stream: true},
		Exact:     cachetest.FP("q"), Context: cachetest.FP("c"), Query: "q",
		Response:  cachetest.OK(`{"a":1}`),
		CreatedAt: cachetest.Start(), ExpiresAt: cachetest.Start().Add(time.Hour),
	}
	s, err := encodePayload(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePayload(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Partition != e.Partition || got.Exact != e.Exact || got.Context != e.Context || got.Query != e.Query ||
		string(got.Response.Body) != `{"a":1}` || got.Response.Headers["x-upstream"] != "test" ||
		!got.CreatedAt.Equal(e.CreatedAt) || !got.ExpiresAt.Equal(e.ExpiresAt) || !got.Response.Complete {
		t.Fatalf("round trip: %+v", got)
	}
	e.Response.Body = make([]byte, maxPayload)
	if _, err := encodePayload(e); !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("oversized payload: %v, want ErrTooLarge", err)
	}
}

func TestKeysAreDistinct(t *testing.T) {
	p1 := cache.Partition{Decision: "ab", Model: "c"}
	p2 := cache.Partition{Decision: "a", Model: "bc"}
	if partKey(p1) == partKey(p2) || rowID(p1, cachetest.FP("x")) == rowID(p2, cachetest.FP("x")) ||
		groupKey(p1, cachetest.FP("x")) == groupKey(p1, cachetest.FP("y")) {
		t.Fatal("keys collide")
	}
	if len(rowID(p1, cachetest.FP("x"))) != 32 {
		t.Fatal("row id is not 32 hex digits")
	}
}

func TestFromConfig(t *testing.T) {
	tests := []struct {
		name string
		in   *config.MilvusBackend
		want []string // error substrings; none = valid
		chk  func(t *testing.T, c Config)
	}{
		{name: "minimal", in: &config.MilvusBackend{Connection: &config.MilvusConnection{Host: "m"}},
			chk: func(t *testing.T, c Config) {
				d, err := c.withDefaults()
				if err != nil || d.Addr != "m:19530" || d.Collection != "semrouter_cache" || d.Metric != "COSINE" ||
					d.IndexType != "HNSW" || d.TopK != 8 || d.Consistency != "strong" {
					t.Fatalf("%+v %v", d, err)
				}
			}},
		{name: "no connection", in: &config.MilvusBackend{}, want: []string{"connection is required"}},
		{name: "bad values", in: &config.MilvusBackend{
			Connection: &config.MilvusConnection{Host: "m", Port: 99999},
			Collection: &config.MilvusCollection{Name: "bad-name", VectorField: &config.VectorField{MetricType: "L2"}},
			Search:     &config.VectorSearch{ConsistencyLevel: "sometimes"},
		}, want: []string{"port 99999", `metric_type "L2"`, `consistency_level "sometimes"`, `name "bad-name"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromConfig(tc.in)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tc.chk(t, c)
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestNewNeedsDimension(t *testing.T) {
	_, err := New(t.Context(), Config{Addr: "127.0.0.1:1"}, cache.Options{})
	if err == nil || !strings.Contains(err.Error(), "dimension is unknown") {
		t.Fatalf("New without a dimension: %v", err)
	}
}
