package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"
)

// benchConfig is a v0.3 config rewritten for a loopback benchmark.
type benchConfig struct {
	// YAML is the rewritten document.
	YAML []byte
	// DefaultModel is providers.defaults.default_model (what a direct call
	// asks the backend for).
	DefaultModel string
	// CachePlugins is how many response_cache plugins were removed.
	CachePlugins int
}

// rewriteConfig points every backend of a v0.3 config at backend
// (host:port, plain HTTP), replaces the listeners with one API listener on
// 127.0.0.1:apiPort and, unless keepCache, drops the decisions'
// response_cache plugins: repeated benchmark prompts would otherwise be
// answered from the cache and the routed side would not reach the backend.
func rewriteConfig(src []byte, backend string, apiPort int, keepCache bool) (*benchConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("parse config: the document is not a mapping")
	}
	root := doc.Content[0]
	out := &benchConfig{}

	setKey(root, "listeners", seq(mapping(
		"name", str("api"), "address", str("127.0.0.1"), "port", str(strconv.Itoa(apiPort)), "timeout", str("120s"))))

	models := lookup(root, "providers", "models")
	if models == nil || models.Kind != yaml.SequenceNode || len(models.Content) == 0 {
		return nil, errors.New("rewrite config: providers.models is empty")
	}
	for i, m := range models.Content {
		refs := lookup(m, "backend_refs")
		name := fmt.Sprintf("bench-%d", i)
		if refs != nil && refs.Kind == yaml.SequenceNode && len(refs.Content) > 0 {
			if n := lookup(refs.Content[0], "name"); n != nil && n.Value != "" {
				name = n.Value
			}
		}
		setKey(m, "backend_refs", seq(mapping(
			"name", str(name), "endpoint", str(backend), "protocol", str("http"), "weight", str("100"))))
	}
	if dm := lookup(root, "providers", "defaults", "default_model"); dm != nil {
		out.DefaultModel = dm.Value
	}
	if out.DefaultModel == "" {
		if n := lookup(models.Content[0], "name"); n != nil {
			out.DefaultModel = n.Value
		}
	}

	if !keepCache {
		for _, path := range decisionLists(root) {
			for _, d := range path.Content {
				plugins := lookup(d, "plugins")
				if plugins == nil || plugins.Kind != yaml.SequenceNode {
					continue
				}
				kept := plugins.Content[:0]
				for _, p := range plugins.Content {
					if t := lookup(p, "type"); t != nil && t.Value == "response_cache" {
						out.CachePlugins++
						continue
					}
					kept = append(kept, p)
				}
				plugins.Content = kept
			}
		}
	}

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	out.YAML = b.Bytes()
	return out, nil
}

// decisionLists returns routing.decisions and every recipe's decisions.
func decisionLists(root *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if d := lookup(root, "routing", "decisions"); d != nil && d.Kind == yaml.SequenceNode {
		out = append(out, d)
	}
	if recipes := lookup(root, "recipes"); recipes != nil {
		var items []*yaml.Node
		switch recipes.Kind {
		case yaml.SequenceNode:
			items = recipes.Content
		case yaml.MappingNode:
			for i := 1; i < len(recipes.Content); i += 2 {
				items = append(items, recipes.Content[i])
			}
		}
		for _, r := range items {
			for _, p := range [][]string{{"decisions"}, {"routing", "decisions"}} {
				if d := lookup(r, p...); d != nil && d.Kind == yaml.SequenceNode {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// lookup walks mapping keys; nil when a step is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// setKey sets (or appends) key in mapping n.
func setKey(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			n.Content[i+1] = v
			return
		}
	}
	n.Content = append(n.Content, str(key), v)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

// repoRoot walks up from dir to the directory holding go.work.
func repoRoot(dir string) (string, error) {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("find the checkout: no go.work above %s", dir)
		}
		d = parent
	}
}
