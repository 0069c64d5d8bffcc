package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Validate checks a decoded config and returns every problem found, each
// with its YAML path and (when the config was parsed) line. It does not
// stop at the first error. Apply defaults first (Parse does both).
func Validate(c *Config) Problems {
	v := &validator{cfg: c, models: map[string]bool{}, infos: map[reflect.Type]*structInfo{}}
	v.marks(reflect.ValueOf(c).Elem(), "")
	v.validateRoot()
	v.validateProviders()
	v.validateListeners()
	top := v.profile("routing", &c.Routing, nil)
	v.validateRouting(top)
	for i := range c.Recipes {
		r := &c.Recipes[i]
		v.validateRouting(v.profile(fmt.Sprintf("recipes[%d].routing", i), &r.Routing, top))
	}
	v.validateRecipes()
	v.validateGlobal()
	v.validateExternalModels()
	v.validateModelSelection()
	v.validateIgnoredValues()
	v.validateHeaderSafety()
	v.probs.Sort()
	return v.probs
}

type validator struct {
	cfg    *Config
	probs  Problems
	models map[string]bool
	infos  map[reflect.Type]*structInfo
}

func (v *validator) add(sev Severity, path, format string, args ...any) {
	v.probs = append(v.probs, Problem{Severity: sev, Path: path, Line: v.cfg.Line(path), Message: fmt.Sprintf(format, args...)})
}

func (v *validator) errorf(path, format string, args ...any) {
	v.add(SeverityError, path, format, args...)
}

func (v *validator) warnf(path, format string, args ...any) {
	v.add(SeverityWarning, path, format, args...)
}

const (
	msgUnsupportedSignal = "signal family %q is accepted but not evaluated; never matches"
	msgUnimplemented     = "accepted and kept, but semrouter does not act on it yet; it has no effect"
)

// marks reports fields tagged `sr:"signal"` or `sr:"unimplemented"` that
// are set. The tags are the single declaration of what semrouter does not act on.
func (v *validator) marks(rv reflect.Value, path string) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			v.marks(rv.Elem(), path)
		}
	case reflect.Slice:
		for i := 0; i < rv.Len(); i++ {
			v.marks(rv.Index(i), joinIndex(path, i))
		}
	case reflect.Struct:
		si, ok := v.infos[rv.Type()]
		if !ok {
			si = typeInfo(rv.Type())
			v.infos[rv.Type()] = si
		}
		for _, f := range si.fields {
			fv := rv.Field(f.index)
			if f.inline {
				continue
			}
			p := sub(path, f.name)
			if f.mark != "" && !fv.IsZero() {
				switch f.mark {
				case "signal":
					v.warnf(p, msgUnsupportedSignal, f.name)
				default:
					if f.note != "" {
						v.warnf(p, msgUnimplemented+" (%s)", f.note)
					} else {
						v.warnf(p, msgUnimplemented)
					}
				}
				continue
			}
			if k := fv.Kind(); k == reflect.Struct || k == reflect.Pointer || k == reflect.Slice {
				v.marks(fv, p)
			}
		}
	}
}

func (v *validator) validateRoot() {
	c := v.cfg
	if c.Version != CanonicalVersion {
		if c.Version == "" {
			v.errorf("version", "required: set version: %s", CanonicalVersion)
		} else {
			v.errorf("version", "unsupported version %q; this router reads %s (convert older files with `semrouter config migrate`)", c.Version, CanonicalVersion)
		}
	}
}

func (v *validator) validateListeners() {
	names := map[string]string{}
	ports := map[int]string{}
	for i, l := range v.cfg.Listeners {
		p := joinIndex("listeners", i)
		if l.Name == "" {
			v.errorf(sub(p, "name"), "required")
		} else if first, dup := names[l.Name]; dup {
			v.errorf(sub(p, "name"), "duplicate listener name %q (first at %s)", l.Name, first)
		} else {
			names[l.Name] = p
		}
		if l.Port < 1 || l.Port > 65535 {
			v.errorf(sub(p, "port"), "port %d is outside 1-65535", l.Port)
		} else if first, dup := ports[l.Port]; dup {
			v.errorf(sub(p, "port"), "port %d is already used by %s", l.Port, first)
		} else {
			ports[l.Port] = p
		}
	}
	if m := v.cfg.Global.Services.ManagementAPI; m != nil {
		p := "global.services.management_api.port"
		if m.Port < 0 || m.Port > 65535 {
			v.errorf(p, "port %d is outside 1-65535", m.Port)
		} else if first, dup := ports[m.Port]; dup && m.Port != 0 {
			v.errorf(p, "port %d is already used by %s", m.Port, first)
		}
	}
}

// validateRecipes checks entrypoints and recipes.
func (v *validator) validateRecipes() {
	recipes := map[string]string{}
	for i, r := range v.cfg.Recipes {
		p := joinIndex("recipes", i)
		switch {
		case r.Name == "":
			v.errorf(sub(p, "name"), "required")
		case r.Name == DefaultRecipe:
			v.errorf(sub(p, "name"), "recipe name %q is reserved for the top-level routing block", DefaultRecipe)
		default:
			if first, dup := recipes[r.Name]; dup {
				v.errorf(sub(p, "name"), "duplicate recipe name %q (first at %s)", r.Name, first)
			} else {
				recipes[r.Name] = p
			}
		}
	}
	auto := map[string]bool{}
	for _, n := range v.cfg.Global.Router.AutoModelNames {
		auto[n] = true
	}
	seen := map[string]string{}
	for i, ep := range v.cfg.Entrypoints {
		p := joinIndex("entrypoints", i)
		if len(ep.ModelNames) == 0 {
			v.errorf(sub(p, "model_names"), "at least one model name is required")
		}
		for j, n := range ep.ModelNames {
			np := joinIndex(sub(p, "model_names"), j)
			switch {
			case n == "":
				v.errorf(np, "empty model name")
			case seen[n] != "":
				v.errorf(np, "model name %q is already mapped by %s", n, seen[n])
			case auto[n]:
				v.errorf(np, "model name %q is also an auto model name (global.router.auto_model_names)", n)
			case v.models[n]:
				v.errorf(np, "model name %q is also a provider model name", n)
			default:
				seen[n] = p
			}
		}
		if ep.Recipe == "" {
			v.errorf(sub(p, "recipe"), "required")
		} else if _, ok := recipes[ep.Recipe]; !ok && ep.Recipe != DefaultRecipe {
			v.errorf(sub(p, "recipe"), "unknown recipe %q%s", ep.Recipe, known(keys(recipes), DefaultRecipe))
		}
	}
}

// sub appends a relative dotted path (field names, never map keys).
func sub(path, rel string) string {
	if path == "" {
		return rel
	}
	return path + "." + rel
}

// checkUnit reports a value outside [0,1] (a probability or similarity).
func (v *validator) checkUnit(path string, f float64) {
	if f < 0 || f > 1 {
		v.errorf(path, "%s must be between 0 and 1, got %s", lastKey(path), formatFloat(f))
	}
}

func (v *validator) checkUnitPtr(path string, f *float64) {
	if f != nil {
		v.checkUnit(path, *f)
	}
}

func (v *validator) checkNonNegative(path string, f float64) {
	if f < 0 {
		v.errorf(path, "%s must not be negative, got %s", lastKey(path), formatFloat(f))
	}
}

func (v *validator) checkOneOf(path, value string, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.errorf(path, "unknown %s %q (expected one of %s)", lastKey(path), value, strings.Join(allowed, ", "))
}

// checkKnown warns about a value outside the set semrouter knows, for
// settings whose full upstream value set is open or that semrouter does
// not act on (an error would reject configs other routers accept).
func (v *validator) checkKnown(path, value string, allowed ...string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.warnf(path, "unrecognised %s %q (known: %s)", lastKey(path), value, strings.Join(allowed, ", "))
}

// checkBounds reports inverted lower/upper bounds of a predicate.
func (v *validator) checkBounds(path string, gt, gte, lt, lte *float64) {
	lower, lowerName := lowerBound(gt, gte)
	upper, upperName := upperBound(lt, lte)
	if gt != nil && gte != nil {
		v.errorf(path, "set only one of gt and gte")
	}
	if lt != nil && lte != nil {
		v.errorf(path, "set only one of lt and lte")
	}
	if lower == nil || upper == nil {
		return
	}
	empty := *lower > *upper || (*lower == *upper && (lowerName == "gt" || upperName == "lt"))
	if empty {
		v.errorf(path, "inverted bounds: %s %s is not below %s %s; nothing can match", lowerName, formatFloat(*lower), upperName, formatFloat(*upper))
	}
}

func lowerBound(gt, gte *float64) (*float64, string) {
	if gt != nil {
		return gt, "gt"
	}
	if gte != nil {
		return gte, "gte"
	}
	return nil, ""
}

func upperBound(lt, lte *float64) (*float64, string) {
	if lt != nil {
		return lt, "lt"
	}
	if lte != nil {
		return lte, "lte"
	}
	return nil, ""
}

func lastKey(path string) string {
	i := strings.LastIndex(path, ".")
	k := path[i+1:]
	if j := strings.Index(k, "["); j > 0 {
		k = k[:j]
	}
	return k
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// known formats a "(known: a, b)" hint.
func known(names []string, extra ...string) string {
	all := append(append([]string(nil), names...), extra...)
	if len(all) == 0 {
		return " (none are declared)"
	}
	sort.Strings(all)
	if len(all) > 8 {
		all = append(all[:8], "…")
	}
	return " (known: " + strings.Join(all, ", ") + ")"
}
