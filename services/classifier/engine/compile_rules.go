package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// projCompiler compiles one routing block's projections and rule trees; it
// owns the name → slot tables rule leaves resolve against.
type projCompiler struct {
	c    *compiler
	r    *routing
	cat  *catalog
	path string

	members map[string]int32 // member name → member slot
	byProbe map[probeKey]int32
	outputs map[string]int32 // band name → output slot
	scores  map[string]int32 // score name → score index
}

type probeKey struct {
	family signal.Family
	key    string
}

func (pc *projCompiler) compile(p Projections) {
	pc.members = map[string]int32{}
	pc.byProbe = map[probeKey]int32{}
	pc.outputs = map[string]int32{}
	pc.scores = map[string]int32{}
	for i, part := range p.Partitions {
		pc.partition(fmt.Sprintf("%s.partitions[%d]", pc.path, i), part)
	}
	for i, s := range p.Scores {
		pc.score(fmt.Sprintf("%s.scores[%d]", pc.path, i), s)
	}
	for i, m := range p.Mappings {
		pc.mapping(fmt.Sprintf("%s.mappings[%d]", pc.path, i), m)
	}
}

func (pc *projCompiler) partition(path string, p Partition) {
	errs := pc.c.p
	out := partition{name: p.Name, temp: p.Temperature, deflt: -1}
	switch p.Semantics {
	case "", "exclusive":
	case "softmax_exclusive":
		out.softmax = true
		if p.Temperature <= 0 {
			errs.add(path+".temperature", "softmax_exclusive needs a temperature > 0")
		}
	default:
		errs.add(path+".semantics", "unknown semantics %q: want exclusive or softmax_exclusive", p.Semantics)
	}
	if len(p.Members) == 0 {
		errs.add(path+".members", "partition has no members")
	}
	var family signal.Family
	for i, name := range p.Members {
		mp := fmt.Sprintf("%s.members[%d]", path, i)
		decls := pc.cat.byName[name]
		switch {
		case len(decls) == 0:
			errs.add(mp, "member %q is not a declared signal", name)
			continue
		case len(decls) > 1:
			errs.add(mp, "member %q is declared in several families; partition members must be unambiguous", name)
			continue
		}
		f := decls[0].Family
		if family == "" {
			family = f
		} else if f != family {
			errs.add(mp, "member %q is a %s signal; partition members must share one family (%s)", name, f, family)
			continue
		}
		if _, dup := pc.members[name]; dup {
			errs.add(mp, "signal %q is already a member of a partition", name)
			continue
		}
		slot := int32(len(pc.r.memberNames))
		pc.r.memberNames = append(pc.r.memberNames, name)
		pc.members[name] = slot
		pc.byProbe[probeKey{f, name}] = slot
		out.members = append(out.members, member{name: name, probe: pc.cat.probe(f, name), slot: slot})
		if name == p.Default {
			out.deflt = len(out.members) - 1
		}
	}
	if p.Default != "" && out.deflt < 0 {
		errs.add(path+".default", "default %q is not a member", p.Default)
	}
	pc.r.partitions = append(pc.r.partitions, out)
}

func (pc *projCompiler) score(path string, s Score) {
	errs := pc.c.p
	if s.Name == "" {
		errs.add(path+".name", "score name is empty")
	}
	if _, dup := pc.scores[s.Name]; dup {
		errs.add(path+".name", "score %q is defined twice", s.Name)
	}
	if s.Method != "" && s.Method != "weighted_sum" {
		errs.add(path+".method", "unknown method %q: want weighted_sum", s.Method)
	}
	if len(s.Inputs) == 0 {
		errs.add(path+".inputs", "score has no inputs")
	}
	out := score{name: s.Name}
	for i, in := range s.Inputs {
		ip := fmt.Sprintf("%s.inputs[%d]", path, i)
		ci := scoreInput{weight: in.Weight, miss: in.Miss, match: 1}
		if in.Match != nil {
			ci.match = *in.Match
		}
		switch strings.ToLower(strings.TrimSpace(in.ValueSource)) {
		case "", "binary", "match":
		case "confidence":
			ci.source = vsConfidence
		case "raw", "score":
			ci.source = vsRaw
		default:
			errs.add(ip+".value_source", "unknown value_source %q: want binary, confidence or raw", in.ValueSource)
		}
		typ := strings.ToLower(strings.TrimSpace(in.Type))
		switch typ {
		case "kb_metric":
			if in.KB == "" || in.Metric == "" {
				errs.add(ip, "kb_metric input needs kb and metric")
			}
			ci.kind = inKBMetric
			ci.probe = probe{family: signal.KB, key: in.KB + ":" + in.Metric}
		case string(signal.Projection):
			if slot, ok := pc.scores[in.Name]; ok {
				ci.kind, ci.slot = inScore, slot
			} else if slot, ok := pc.members[in.Name]; ok {
				ci.kind, ci.slot = inMember, slot
			} else {
				errs.add(ip+".name", "projection input %q is neither an earlier score nor a partition member", in.Name)
			}
		default:
			f := signal.Family(typ)
			if !isFamily(f) {
				errs.add(ip+".type", "unknown signal type %q", in.Type)
				continue
			}
			if !pc.cat.declared(f, in.Name) {
				errs.add(ip+".name", "%s signal %q is not declared", f, in.Name)
			}
			ci.kind, ci.probe = inSignal, pc.cat.probe(f, in.Name)
			if slot, ok := pc.byProbe[probeKey{f, in.Name}]; ok {
				ci.kind, ci.slot = inMember, slot
			}
		}
		out.inputs = append(out.inputs, ci)
	}
	pc.scores[s.Name] = int32(len(pc.r.scores))
	pc.r.scores = append(pc.r.scores, out)
}

func (pc *projCompiler) mapping(path string, m Mapping) {
	errs := pc.c.p
	out := mapping{name: m.Name, multi: m.MultiEmit, slope: 12}
	src, ok := pc.scores[m.Source]
	if !ok {
		errs.add(path+".source", "source %q is not a declared score", m.Source)
	}
	out.source = src
	switch m.Method {
	case "", "threshold_bands":
	case "multi_emit":
		out.multi = true
	default:
		errs.add(path+".method", "unknown method %q: want threshold_bands or multi_emit", m.Method)
	}
	if cal := m.Calibration; cal != nil {
		if cal.Method != "" && cal.Method != "sigmoid_distance" {
			errs.add(path+".calibration.method", "unknown calibration %q: want sigmoid_distance", cal.Method)
		}
		if cal.Slope < 0 || math.IsNaN(cal.Slope) {
			errs.add(path+".calibration.slope", "slope %v must be positive", cal.Slope)
		} else if cal.Slope > 0 {
			out.slope = cal.Slope
		}
	}
	if len(m.Outputs) == 0 {
		errs.add(path+".outputs", "mapping has no outputs")
	}
	for i, o := range m.Outputs {
		op := fmt.Sprintf("%s.outputs[%d]", path, i)
		b := newBounds(o.GT, o.GTE, o.LT, o.LTE)
		if b.empty() {
			errs.add(op, "output %q needs at least one of gt, gte, lt, lte", o.Name)
		}
		if _, dup := pc.outputs[o.Name]; dup || o.Name == "" {
			errs.add(op+".name", "output name %q is empty or already used", o.Name)
			continue
		}
		if _, clash := pc.members[o.Name]; clash {
			errs.add(op+".name", "output name %q is also a partition member", o.Name)
		}
		slot := int32(len(pc.r.outputNames))
		pc.r.outputNames = append(pc.r.outputNames, o.Name)
		pc.outputs[o.Name] = slot
		out.bands = append(out.bands, band{name: o.Name, b: b, slot: slot})
	}
	pc.r.mappings = append(pc.r.mappings, out)
}

// rule compiles one rule node and returns its node index.
func (pc *projCompiler) rule(path string, rl Rule, root bool) int32 {
	errs := pc.c.p
	r := pc.r
	if !root && rl.OnUnknown != "" {
		errs.add(path+".on_unknown", "on_unknown is only allowed on the root rules node")
	}
	if rl.Type != "" || rl.Name != "" {
		if rl.Operator != "" || len(rl.Conditions) > 0 {
			errs.add(path, "a node is either a condition (type, name) or an operator with conditions, not both")
		}
		idx := int32(len(r.nodes))
		r.nodes = append(r.nodes, node{op: opLeaf, leaf: pc.leaf(path, rl)})
		return idx
	}
	if rl.OnError != "" {
		errs.add(path+".on_error", "on_error applies to conditions, not operators")
	}
	var op opKind
	switch strings.ToUpper(rl.Operator) {
	case "AND":
		op = opAnd
	case "OR":
		op = opOr
		if len(rl.Conditions) == 0 {
			errs.add(path+".conditions", "OR needs at least one condition")
		}
	case "NOT":
		op = opNot
		if len(rl.Conditions) != 1 {
			errs.add(path+".conditions", "NOT takes exactly one condition, got %d", len(rl.Conditions))
		}
	default:
		errs.add(path+".operator", "unknown operator %q: want AND, OR or NOT", rl.Operator)
		op = opAnd
	}
	children := make([]int32, len(rl.Conditions))
	for i, child := range rl.Conditions {
		children[i] = pc.rule(fmt.Sprintf("%s.conditions[%d]", path, i), child, false)
	}
	idx := int32(len(r.nodes))
	r.nodes = append(r.nodes, node{op: op, first: int32(len(r.kids)), n: int32(len(children))})
	r.kids = append(r.kids, children...)
	return idx
}

func (pc *projCompiler) leaf(path string, rl Rule) int32 {
	errs := pc.c.p
	l := leaf{text: rl.Type + ":" + rl.Name}
	switch strings.ToLower(rl.OnError) {
	case "":
	case "match":
		l.onError = onErrorMatch
	case "no_match":
		l.onError = onErrorNoMatch
	case "fail":
		l.onError = onErrorFail
	default:
		errs.add(path+".on_error", "unknown on_error %q: want match, no_match or fail", rl.OnError)
	}
	if rl.Predicate != nil {
		l.pred = newBounds(rl.Predicate.GT, rl.Predicate.GTE, rl.Predicate.LT, rl.Predicate.LTE)
		l.hasPred = !l.pred.empty()
	}
	typ := signal.Family(strings.ToLower(strings.TrimSpace(rl.Type)))
	switch {
	case rl.Name == "":
		errs.add(path+".name", "condition has no name")
	case typ == signal.Projection:
		if slot, ok := pc.outputs[rl.Name]; ok {
			l.kind, l.slot = leafOutput, slot
		} else if slot, ok := pc.members[rl.Name]; ok {
			l.kind, l.slot = leafMember, slot
		} else if slot, ok := pc.scores[rl.Name]; ok {
			l.kind, l.slot = leafScore, slot
		} else {
			errs.add(path+".name", "projection %q is not a mapping output, partition member or score", rl.Name)
		}
	case !isFamily(typ):
		errs.add(path+".type", "unknown condition type %q", rl.Type)
	default:
		if !pc.cat.declared(typ, rl.Name) {
			errs.add(path+".name", "%s signal %q is not declared", typ, rl.Name)
		}
		key := rl.Name
		if rl.Label != "" {
			key += ":" + rl.Label
			l.text += ":" + rl.Label
		}
		l.kind, l.probe = leafSignal, pc.cat.probe(typ, key)
		if slot, ok := pc.byProbe[probeKey{typ, rl.Name}]; ok && !l.hasPred && rl.Label == "" {
			l.kind, l.slot = leafMember, slot
		}
	}
	idx := int32(len(pc.r.leaves))
	pc.r.leaves = append(pc.r.leaves, l)
	return idx
}
