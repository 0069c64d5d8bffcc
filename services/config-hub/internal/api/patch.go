package api

import (
	"bytes"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// mergePatch applies an RFC 7386 JSON merge patch to target.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// applyMergePatch applies a JSON merge patch to a stored YAML document and
// returns the result as YAML.
func applyMergePatch(stored, patch []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.UseNumber()
	var p any
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("merge patch is not JSON: %w", err)
	}
	p = numbers(p)
	if _, ok := p.(map[string]any); !ok {
		return nil, fmt.Errorf("merge patch must be a JSON object")
	}
	var cur any
	if err := yaml.Unmarshal(stored, &cur); err != nil {
		return nil, fmt.Errorf("parse stored document: %w", err)
	}
	out, err := yaml.Marshal(mergePatch(cur, p))
	if err != nil {
		return nil, fmt.Errorf("encode patched document: %w", err)
	}
	return out, nil
}

// numbers turns JSON numbers into int64 (when integral) or float64, so that
// the YAML written for them reads back as numbers of the right kind.
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
