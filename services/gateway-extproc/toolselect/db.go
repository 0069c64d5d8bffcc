package toolselect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// DB is a tools database (tool_selection tools_db_path): tools the
// tool_selection plugin in mode add may add to a request.
//
// The file is a JSON array. Each entry is either an OpenAI tool definition
//
//	{"type": "function", "function": {"name": "get_weather", "description": "...", "parameters": {...}},
//	 "tags": ["weather"], "category": "weather"}
//
// with optional "tags" (strings) and "category" next to it, or a wrapper
//
//	{"tool": {"type": "function", "function": {...}}, "description": "...", "tags": [...], "category": "..."}
//
// whose "description" (when set) replaces the function's description as
// the text the tool is matched by. Only the OpenAI definition is forwarded
// upstream. Names must be unique.
type DB struct {
	Path  string
	Tools []Tool

	// Embeddings are computed once, on first use, in the background; a
	// failed attempt is retried by the next request.
	mu      sync.Mutex
	attempt chan struct{} // closed when the running attempt ends
	vecs    [][]float32
	lastErr error
}

// dbEmbedTimeout bounds the background embedding of a database.
const dbEmbedTimeout = 30 * time.Second

// dbEmbedBatch is the number of tools per embedder call.
const dbEmbedBatch = 64

// LoadDB reads and checks a tools database file.
func LoadDB(path string) (*DB, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tools database: %w", err)
	}
	tools, err := ParseDB(data)
	if err != nil {
		return nil, fmt.Errorf("tools database %q: %w", path, err)
	}
	return &DB{Path: path, Tools: tools}, nil
}

// ParseDB parses the contents of a tools database file (see DB); every
// problem is reported.
func ParseDB(data []byte) ([]Tool, error) {
	if !gjson.ValidBytes(data) {
		return nil, errors.New("not valid JSON")
	}
	root := gjson.ParseBytes(data)
	if !root.IsArray() {
		return nil, errors.New("expected a JSON array of tool definitions")
	}
	var tools []Tool
	var errs []error
	seen := map[string]int{}
	i := -1
	root.ForEach(func(_, e gjson.Result) bool {
		i++
		if !e.IsObject() {
			errs = append(errs, fmt.Errorf("[%d]: expected an object", i))
			return true
		}
		def, desc := e, ""
		if w := e.Get("tool"); w.Exists() {
			def, desc = w, e.Get("description").String()
		}
		if !def.IsObject() {
			errs = append(errs, fmt.Errorf("[%d].tool: expected an object", i))
			return true
		}
		kind := def.Get("type").String()
		if kind != "" && kind != "function" {
			errs = append(errs, fmt.Errorf("[%d]: type %q: only function tools can be added", i, kind))
			return true
		}
		fn := def.Get("function")
		name := fn.Get("name").String()
		if !fn.IsObject() || name == "" {
			errs = append(errs, fmt.Errorf("[%d]: function.name is required", i))
			return true
		}
		if j, dup := seen[name]; dup {
			errs = append(errs, fmt.Errorf("[%d]: duplicate tool name %q (also at [%d])", i, name, j))
			return true
		}
		seen[name] = i
		if desc == "" {
			desc = fn.Get("description").String()
		}
		t := Tool{Name: name, Description: desc, Category: e.Get("category").String()}
		for _, tag := range e.Get("tags").Array() {
			if s := tag.String(); s != "" {
				t.Tags = append(t.Tags, s)
			}
		}
		// Forward only the OpenAI definition.
		raw, err := json.Marshal(struct {
			Type     string          `json:"type"`
			Function json.RawMessage `json:"function"`
		}{"function", json.RawMessage(fn.Raw)})
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d]: %w", i, err))
			return true
		}
		t.Raw = raw
		t.terms, t.nameTerms = words(t.Name+" "+t.Description), words(t.Name)
		tools = append(tools, t)
		return true
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return tools, nil
}

// embeddings returns the database's tool embeddings, starting their
// computation in the background on first use (and after a failed attempt)
// and waiting for it until ctx ends.
func (db *DB) embeddings(ctx context.Context, emb Embedder) ([][]float32, error) {
	db.mu.Lock()
	if db.vecs != nil {
		v := db.vecs
		db.mu.Unlock()
		return v, nil
	}
	done := db.attempt
	if done == nil {
		done = make(chan struct{})
		db.attempt = done
		go db.compute(emb, done)
	}
	db.mu.Unlock()
	select {
	case <-done:
		db.mu.Lock()
		defer db.mu.Unlock()
		if db.vecs == nil {
			return nil, fmt.Errorf("embed tools database %q: %w (retried by the next request)", db.Path, db.lastErr)
		}
		return db.vecs, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("embed tools database %q: %w (still embedding in the background)", db.Path, ctx.Err())
	}
}

// compute embeds every database tool, then ends the attempt.
func (db *DB) compute(emb Embedder, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), dbEmbedTimeout)
	defer cancel()
	vecs := make([][]float32, 0, len(db.Tools))
	var err error
	for at := 0; at < len(db.Tools) && err == nil; at += dbEmbedBatch {
		end := min(at+dbEmbedBatch, len(db.Tools))
		texts := make([]string, 0, end-at)
		for i := at; i < end; i++ {
			texts = append(texts, db.Tools[i].text())
		}
		var got [][]float32
		got, err = emb.Embed(ctx, texts)
		if err == nil && len(got) != len(texts) {
			err = fmt.Errorf("embedder returned %d vectors for %d texts", len(got), len(texts))
		}
		vecs = append(vecs, got...)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if err != nil {
		db.lastErr = err
	} else {
		db.vecs, db.lastErr = vecs, nil
	}
	db.attempt = nil
	close(done)
}
