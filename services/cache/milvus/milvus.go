package milvus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"github.com/milvus-io/milvus-sdk-go/v2/entity"

	"github.com/semrouter/semrouter/services/cache"
)

var _ cache.Backend = (*Backend)(nil)

// maxScan bounds the rows one bookkeeping query reads (Milvus caps query
// results at 16384).
const maxScan = 16384

// Backend is the Milvus backend.
type Backend struct {
	cfg    Config
	opts   cache.Options
	cli    client.Client
	dim    int
	cl     entity.ConsistencyLevel
	search searchParam
	out    []string // output fields of lookups

	writeMu sync.Mutex // serialises this process's writers
	closed  atomic.Bool

	hits, exactHits, misses, evictions, expirations atomic.Int64
}

// New connects to Milvus and creates (or opens) the collection.
func New(ctx context.Context, cfg Config, opts cache.Options) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts, err = opts.WithDefaults(); err != nil {
		return nil, err
	}
	dim := cfg.Dimension
	if opts.Dim > 0 {
		if dim > 0 && dim != opts.Dim {
			return nil, fmt.Errorf("milvus: collection dimension %d differs from the embedding dimension %d", dim, opts.Dim)
		}
		dim = opts.Dim
	}
	if dim <= 0 {
		return nil, errors.New("milvus: the embedding dimension is unknown (set collection.vector_field.dimension)")
	}
	opts.Dim = dim
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cli, err := client.NewClient(cctx, client.Config{
		Address: cfg.Addr, Username: cfg.Username, Password: cfg.Password, DBName: cfg.Database,
		EnableTLSAuth: cfg.TLS,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to milvus %s: %w", cfg.Addr, err)
	}
	b := &Backend{cfg: cfg, opts: opts, cli: cli, dim: dim, cl: consistency(cfg.Consistency),
		search: searchParam{params: cfg.SearchParams},
		out:    []string{fID, fCreated, fExpires, fTouched, fHits, fSize, fHasVec, fPayload, cfg.VectorField}}
	if err := b.ensureCollection(ctx); err != nil {
		_ = cli.Close()
		return nil, err
	}
	return b, nil
}

func consistency(s string) entity.ConsistencyLevel {
	switch s {
	case "session":
		return entity.ClSession
	case "bounded":
		return entity.ClBounded
	case "eventually":
		return entity.ClEventually
	}
	return entity.ClStrong
}

// searchParam passes the configured search parameters through.
type searchParam struct{ params map[string]string }

func (p searchParam) Params() map[string]any {
	m := make(map[string]any, len(p.params))
	for k, v := range p.params {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			m[k] = n
		} else if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[k] = f
		} else {
			m[k] = v
		}
	}
	return m
}
func (p searchParam) AddRadius(float64)      {}
func (p searchParam) AddRangeFilter(float64) {}

func (b *Backend) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.cfg.Timeout)
}

func (b *Backend) schema() *entity.Schema {
	str := func(name string, n int64) *entity.Field {
		return entity.NewField().WithName(name).WithDataType(entity.FieldTypeVarChar).WithMaxLength(n)
	}
	i64 := func(name string) *entity.Field {
		return entity.NewField().WithName(name).WithDataType(entity.FieldTypeInt64)
	}
	return entity.NewSchema().WithName(b.cfg.Collection).WithDescription(b.cfg.Description).
		WithField(str(fID, 64).WithIsPrimaryKey(true)).
		WithField(str(fGroup, 64)).
		WithField(str(fPart, 64)).
		WithField(str(fDecision, 64)).
		WithField(i64(fCreated)).
		WithField(i64(fExpires)).
		WithField(i64(fTouched)).
		WithField(i64(fHits)).
		WithField(i64(fSize)).
		WithField(entity.NewField().WithName(fHasVec).WithDataType(entity.FieldTypeBool)).
		WithField(str(fPayload, maxPayload)).
		WithField(entity.NewField().WithName(b.cfg.VectorField).WithDataType(entity.FieldTypeFloatVector).WithDim(int64(b.dim)))
}

func (b *Backend) ensureCollection(ctx context.Context) error {
	octx, cancel := b.op(ctx)
	defer cancel()
	name := b.cfg.Collection
	has, err := b.cli.HasCollection(octx, name)
	if err != nil {
		return fmt.Errorf("milvus: check collection %q: %w", name, err)
	}
	if has && b.cfg.DropOnStart {
		if err := b.cli.DropCollection(octx, name); err != nil {
			return fmt.Errorf("milvus: drop collection %q: %w", name, err)
		}
		has = false
	}
	if !has {
		if b.cfg.NoAutoCreate {
			return fmt.Errorf("milvus: collection %q does not exist and auto_create_collection is off", name)
		}
		if err := b.cli.CreateCollection(octx, b.schema(), 1, client.WithConsistencyLevel(b.cl)); err != nil {
			return fmt.Errorf("milvus: create collection %q: %w", name, err)
		}
		params := map[string]string{"metric_type": b.cfg.Metric}
		for k, v := range b.cfg.IndexParams {
			params[k] = v
		}
		idx := entity.NewGenericIndex(b.cfg.VectorField+"_idx", entity.IndexType(b.cfg.IndexType), params)
		if err := b.cli.CreateIndex(octx, name, b.cfg.VectorField, idx, false); err != nil {
			return fmt.Errorf("milvus: create %s index on %q: %w", b.cfg.IndexType, name, err)
		}
	} else {
		coll, err := b.cli.DescribeCollection(octx, name)
		if err != nil {
			return fmt.Errorf("milvus: describe collection %q: %w", name, err)
		}
		if err := b.checkSchema(coll.Schema); err != nil {
			return err
		}
	}
	if b.cfg.CollectionTTL && b.opts.DefaultTTL > 0 {
		secs := int64(b.opts.DefaultTTL / time.Second)
		if err := b.cli.AlterCollection(octx, name, entity.CollectionTTL(secs)); err != nil {
			return fmt.Errorf("milvus: set the TTL of collection %q: %w", name, err)
		}
	}
	if err := b.cli.LoadCollection(octx, name, false); err != nil {
		return fmt.Errorf("milvus: load collection %q: %w", name, err)
	}
	return nil
}

// checkSchema rejects an existing collection this backend cannot use.
func (b *Backend) checkSchema(s *entity.Schema) error {
	want := map[string]bool{}
	for _, f := range b.schema().Fields {
		want[f.Name] = true
	}
	for _, f := range s.Fields {
		delete(want, f.Name)
		if f.Name == b.cfg.VectorField {
			if d, _ := strconv.Atoi(f.TypeParams[entity.TypeParamDim]); d != b.dim {
				return fmt.Errorf("milvus: collection %q has dimension %d, want %d", b.cfg.Collection, d, b.dim)
			}
		}
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for k := range want {
			missing = append(missing, k)
		}
		sort.Strings(missing)
		return fmt.Errorf("milvus: collection %q lacks the fields %s (drop it or choose another name)", b.cfg.Collection, strings.Join(missing, ", "))
	}
	return nil
}

func (b *Backend) check(ctx context.Context) error {
	if b.closed.Load() {
		return cache.ErrClosed
	}
	return ctx.Err()
}

// Close disconnects.
func (b *Backend) Close() error {
	if !b.closed.CompareAndSwap(false, true) {
		return nil
	}
	return b.cli.Close()
}

// DropCollection drops the backend's collection (tests, resets); the
// backend is unusable afterwards.
func (b *Backend) DropCollection(ctx context.Context) error {
	octx, cancel := b.op(ctx)
	defer cancel()
	if err := b.cli.DropCollection(octx, b.cfg.Collection); err != nil {
		return fmt.Errorf("milvus: drop collection %q: %w", b.cfg.Collection, err)
	}
	return nil
}
