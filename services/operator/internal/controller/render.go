package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/semrouter/semrouter/pkg/config"
	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

// Backend is one discovered Service serving a model.
type Backend struct {
	// Ref is the backend_ref name.
	Ref             string
	Model           string
	ReasoningFamily string
	Weight          int32
	Service         string
	Namespace       string
	Port            int32
	LoRAs           []v1alpha1.LoRASpec
}

// Host is the cluster DNS name and port of the backend.
func (b Backend) Host() string {
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", b.Service, b.Namespace, b.Port)
}

// RenderedConfig is a validated canonical v0.3 configuration.
type RenderedConfig struct {
	YAML     []byte
	Hash     string
	Warnings []string
}

// ConfigError carries every problem of an invalid spec.config.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "invalid spec.config: " + strings.Join(e.Problems, "; ")
}

// RenderConfig turns spec.config plus the discovered backends into a canonical
// v0.3 document: the spec (legacy flat keys and canonical sections alike) goes
// through config.Migrate, every backend becomes a providers.models[].backend_refs
// entry, LoRAs land in routing.modelCards[].loras, and the result is validated
// by config.Parse. An invalid result is a *ConfigError listing every problem.
func RenderConfig(namespace string, spec v1alpha1.ConfigSpec, backends []Backend) (*RenderedConfig, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode spec.config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("decode spec.config: %w", err)
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	delete(cfg, "version")
	endpoints := make([]any, 0, len(backends))
	for _, b := range backends {
		ep := map[string]any{
			"name":  b.Ref,
			"model": b.Model,
			"backend": map[string]any{
				"type":    "service",
				"service": map[string]any{"name": b.Service, "namespace": b.Namespace, "port": b.Port},
			},
			"weight": b.Weight,
		}
		if b.ReasoningFamily != "" {
			ep["reasoningFamily"] = b.ReasoningFamily
		}
		endpoints = append(endpoints, ep)
	}
	manifest := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "SemanticRouter",
		"metadata":   map[string]any{"namespace": namespace},
		"spec":       map[string]any{"config": cfg, "vllmEndpoints": endpoints},
	}
	doc, err := yaml.Marshal(manifest)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	migrated, probs, err := config.Migrate(doc)
	if err != nil {
		return nil, configError(probs, err)
	}
	migrated, err = addLoRAs(migrated, backends)
	if err != nil {
		return nil, err
	}
	parsed, pprobs, err := config.Parse(migrated, "spec.config")
	if err != nil {
		return nil, configError(pprobs, err)
	}
	out, err := config.Marshal(parsed)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	hash, err := config.Hash(parsed)
	if err != nil {
		return nil, fmt.Errorf("hash config: %w", err)
	}
	rc := &RenderedConfig{YAML: out, Hash: hash}
	for _, p := range append(probs.Warnings(), pprobs.Warnings()...) {
		rc.Warnings = append(rc.Warnings, p.Error())
	}
	return rc, nil
}

func configError(probs config.Problems, err error) error {
	ce := &ConfigError{}
	for _, p := range probs.Errors() {
		ce.Problems = append(ce.Problems, p.Error())
	}
	if len(ce.Problems) == 0 {
		ce.Problems = []string{err.Error()}
	}
	return ce
}

// addLoRAs writes the backends' LoRA adapters into routing.modelCards.
func addLoRAs(doc []byte, backends []Backend) ([]byte, error) {
	loras := map[string][]v1alpha1.LoRASpec{}
	for _, b := range backends {
		loras[b.Model] = append(loras[b.Model], b.LoRAs...)
	}
	found := false
	for _, l := range loras {
		if len(l) > 0 {
			found = true
		}
	}
	if !found {
		return doc, nil
	}
	var root map[string]any
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("decode migrated config: %w", err)
	}
	routing, _ := root["routing"].(map[string]any)
	if routing == nil {
		routing = map[string]any{}
		root["routing"] = routing
	}
	cards, _ := routing["modelCards"].([]any)
	models := make([]string, 0, len(loras))
	for m := range loras {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, model := range models {
		if len(loras[model]) == 0 {
			continue
		}
		var card map[string]any
		for _, c := range cards {
			if m, ok := c.(map[string]any); ok && m["name"] == model {
				card = m
			}
		}
		if card == nil {
			card = map[string]any{"name": model}
			cards = append(cards, card)
		}
		have := map[string]bool{}
		existing, _ := card["loras"].([]any)
		for _, l := range existing {
			if m, ok := l.(map[string]any); ok {
				have[fmt.Sprint(m["name"])] = true
			}
		}
		for _, l := range loras[model] {
			if have[l.Name] {
				continue
			}
			have[l.Name] = true
			entry := map[string]any{"name": l.Name}
			if l.Description != "" {
				entry["description"] = l.Description
			}
			existing = append(existing, entry)
		}
		card["loras"] = existing
	}
	routing["modelCards"] = cards
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}
