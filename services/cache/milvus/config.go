// Package milvus is the Milvus cache backend: every entry is one row of a
// Milvus collection (keys hashed into short VarChar fields, the response in
// a JSON payload field, the last-user-turn embedding in a float vector
// field), the semantic tier is a filtered vector search, and entries are
// shared by every replica that points at the same collection.
//
// Bounds and eviction are enforced by the writer (like the Redis
// backend): before a write that would break max_entries or the byte bound,
// the victims are chosen by the policy from the rows' created, touched and
// hits fields. Counting and bytes read at most maxScan rows, so bounds are
// exact up to that many entries. TTLs are applied with the injected clock
// and, when data_management.ttl is enabled, also by the collection TTL
// property (Milvus then drops expired rows itself).
package milvus

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// DefaultPasswordEnv is read when the config carries no password.
const DefaultPasswordEnv = "SEMROUTER_CACHE_MILVUS_PASSWORD"

// Config locates and shapes the collection.
type Config struct {
	Addr     string
	Database string
	Username string
	// Password; when empty it is read from PasswordEnv.
	Password    string
	PasswordEnv string
	TLS         bool
	// Timeout bounds each Milvus call (default 10s).
	Timeout time.Duration

	Collection  string // default "semrouter_cache"
	Description string
	VectorField string // default "embedding"
	// Dimension of the vector field (0: cache.Options.Dim).
	Dimension int
	// Metric is COSINE (default) or IP (for normalised embeddings).
	Metric string
	// IndexType (default HNSW) and its build parameters.
	IndexType   string
	IndexParams map[string]string
	// SearchParams are passed to every search (e.g. ef).
	SearchParams map[string]string
	// TopK is the number of neighbours a semantic lookup considers
	// (default 8).
	TopK int
	// Consistency is Strong (default), Session, Bounded or Eventually.
	Consistency string
	// CollectionTTL sets the collection TTL property to the default TTL.
	CollectionTTL bool
	// DropOnStart drops the collection when the backend starts.
	DropOnStart bool
	// NoAutoCreate makes a missing collection an error.
	NoAutoCreate bool
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("milvus: address is required"))
	}
	if c.PasswordEnv == "" {
		c.PasswordEnv = DefaultPasswordEnv
	}
	if c.Password == "" {
		c.Password = os.Getenv(c.PasswordEnv)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Collection == "" {
		c.Collection = "semrouter_cache"
	}
	if c.VectorField == "" {
		c.VectorField = "embedding"
	}
	c.Metric = strings.ToUpper(c.Metric)
	switch c.Metric {
	case "":
		c.Metric = "COSINE"
	case "COSINE", "IP":
	default:
		errs = append(errs, fmt.Errorf("milvus: metric_type %q: want COSINE or IP (similarities are cosines)", c.Metric))
	}
	if c.IndexType == "" {
		c.IndexType = "HNSW"
	}
	c.IndexType = strings.ToUpper(c.IndexType)
	if c.TopK <= 0 {
		c.TopK = 8
	}
	switch strings.ToLower(c.Consistency) {
	case "":
		c.Consistency = "strong"
	case "strong", "session", "bounded", "eventually":
		c.Consistency = strings.ToLower(c.Consistency)
	default:
		errs = append(errs, fmt.Errorf("milvus: consistency_level %q: want Strong, Session, Bounded or Eventually", c.Consistency))
	}
	if c.Dimension < 0 {
		errs = append(errs, fmt.Errorf("milvus: dimension %d must not be negative", c.Dimension))
	}
	for _, name := range []string{c.Collection, c.VectorField} {
		if !validName(name) {
			errs = append(errs, fmt.Errorf("milvus: name %q: use letters, digits and underscores, starting with a letter or underscore", name))
		}
	}
	return c, errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// FromConfig maps global.stores.response_cache.milvus. Every problem is
// reported.
func FromConfig(m *config.MilvusBackend) (Config, error) {
	var c Config
	var errs []error
	if m == nil {
		return c, errors.New("milvus block is missing")
	}
	if conn := m.Connection; conn != nil {
		if conn.Host == "" {
			errs = append(errs, errors.New("connection.host is required"))
		}
		port := conn.Port
		if port == 0 {
			port = 19530
		}
		if port < 0 || port > 65535 {
			errs = append(errs, fmt.Errorf("connection.port %d: want 1..65535", conn.Port))
		}
		c.Addr = net.JoinHostPort(conn.Host, strconv.Itoa(port))
		c.Database = conn.Database
		if conn.Timeout > 0 {
			c.Timeout = time.Duration(conn.Timeout) * time.Second
		}
		if a := conn.Auth; a != nil && a.Enabled {
			c.Username, c.Password = a.Username, a.Password
		}
		if t := conn.TLS; t != nil && t.Enabled {
			c.TLS = true
		}
	} else {
		errs = append(errs, errors.New("connection is required"))
	}
	if col := m.Collection; col != nil {
		c.Collection, c.Description = col.Name, col.Description
		if vf := col.VectorField; vf != nil {
			c.VectorField, c.Dimension, c.Metric = vf.Name, vf.Dimension, vf.MetricType
		}
		if ix := col.Index; ix != nil {
			c.IndexType = ix.Type
			c.IndexParams = stringParams(ix.Params)
		}
	}
	if s := m.Search; s != nil {
		c.SearchParams = stringParams(s.Params)
		c.TopK = s.TopK
		c.Consistency = s.ConsistencyLevel
	}
	if d := m.DataManagement; d != nil && d.TTL != nil {
		c.CollectionTTL = d.TTL.Enabled
	}
	if d := m.Development; d != nil {
		c.DropOnStart = d.DropCollectionOnStartup
		c.NoAutoCreate = !d.AutoCreateCollection
	}
	if c.Addr != "" {
		if _, err := c.withDefaults(); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// stringParams renders YAML parameters as Milvus wants them (strings).
func stringParams(in map[string]any) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = fmt.Sprint(in[k])
	}
	return out
}
