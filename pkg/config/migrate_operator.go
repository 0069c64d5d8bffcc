package config

import (
	"fmt"
	"strconv"
)

// migrateResource migrates the SemanticRouter resource of a manifest: its
// spec.config (the operator's flat schema) plus spec.vllmEndpoints, which
// become provider models.
func (m *migration) migrateResource(docs []obj) (obj, error) {
	var cr obj
	for _, d := range docs {
		if d["kind"] == "SemanticRouter" {
			if cr != nil {
				return nil, fmt.Errorf("%w: more than one SemanticRouter resource in the manifest", ErrUnknownShape)
			}
			cr = d
		}
	}
	spec := asMap(cr["spec"])
	namespace := firstNonEmpty(asString(asMap(cr["metadata"])["namespace"]), "default")
	cfg := asMap(copyAny(spec["config"]))
	if cfg == nil {
		cfg = obj{}
	}
	models, first := m.endpointModels(asList(spec["vllmEndpoints"]), namespace)
	return m.migrateLegacy(cfg, models, first), nil
}

// endpointModels turns vllmEndpoints into provider models, grouping
// endpoints that serve the same model.
func (m *migration) endpointModels(eps []any, namespace string) ([]obj, string) {
	var out []obj
	byName := map[string]obj{}
	first := ""
	for i, raw := range eps {
		ep := asMap(raw)
		path := fmt.Sprintf("spec.vllmEndpoints[%d]", i)
		model := asString(ep["model"])
		if model == "" {
			m.warnf(path, "dropped: endpoint without a model")
			continue
		}
		if first == "" {
			first = model
		}
		pm, ok := byName[model]
		if !ok {
			pm = obj{"name": model}
			setIfMissing(pm, "reasoning_family", ep["reasoningFamily"])
			byName[model] = pm
			out = append(out, pm)
		}
		ref := obj{"name": firstNonEmpty(asString(ep["name"]), model)}
		setIfMissing(ref, "weight", ep["weight"])
		backend := asMap(ep["backend"])
		switch asString(backend["type"]) {
		case "service":
			svc := asMap(backend["service"])
			port := toInt(svc["port"])
			if port == 0 {
				port = 80
			}
			ns := firstNonEmpty(asString(svc["namespace"]), namespace)
			ref["endpoint"] = asString(svc["name"]) + "." + ns + ".svc.cluster.local:" + strconv.Itoa(port)
			ref["protocol"] = "http"
		case "kserve":
			ns := firstNonEmpty(asString(backend["namespace"]), namespace)
			ref["endpoint"] = asString(backend["inferenceServiceName"]) + "-predictor." + ns + ".svc.cluster.local:80"
			ref["protocol"] = "http"
		default:
			m.warnf(path+".backend", "backend type %q is resolved by the operator at deploy time; no static backend_ref written", backend["type"])
			continue
		}
		pm["backend_refs"] = append(asList(pm["backend_refs"]), ref)
	}
	if len(eps) > 0 {
		m.warnf("spec.vllmEndpoints", "moved to providers.models[].backend_refs")
	}
	return out, first
}
