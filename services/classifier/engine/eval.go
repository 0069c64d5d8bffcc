package engine

import (
	"math"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// matchConfidence is a match's confidence, 1 when the family reports none.
func matchConfidence(m signal.Match) float64 {
	if m.Confidence > 0 {
		return m.Confidence
	}
	return 1
}

// projectPartitions resolves every partition into its member slots: only the
// winner stays matched.
func (r *routing) projectPartitions(set *signal.Set, sc *scratch) {
	for pi := range r.partitions {
		p := &r.partitions[pi]
		winner, winConf := -1, 0.0
		failed := false
		vals := sc.vals[:len(p.members)]
		for i := range p.members {
			m := &p.members[i]
			sc.members[m.slot] = slotState{}
			match, ok := m.probe.lookup(set)
			switch {
			case ok:
				vals[i] = matchConfidence(match)
				if winner < 0 || vals[i] > winConf {
					winner, winConf = i, vals[i]
				}
			default:
				if set.Err(m.probe.family) != nil {
					failed = true
				}
				vals[i] = 0
				if v, has := set.Score(m.probe.family, m.probe.key); has {
					vals[i] = v
				}
			}
		}
		if winner < 0 {
			if failed {
				for i := range p.members {
					sc.members[p.members[i].slot] = slotState{st: stUnknown}
				}
				continue
			}
			if p.deflt < 0 {
				continue
			}
			winner, winConf = p.deflt, 0
		}
		if p.softmax {
			winConf = softmaxAt(vals, winner, p.temp)
		}
		sc.members[p.members[winner].slot] = slotState{st: stTrue, conf: winConf}
	}
}

// softmaxAt returns the softmax probability of vals[i] at temperature t.
func softmaxAt(vals []float64, i int, t float64) float64 {
	hi := math.Inf(-1)
	for _, v := range vals {
		hi = math.Max(hi, v)
	}
	sum := 0.0
	for _, v := range vals {
		sum += math.Exp((v - hi) / t)
	}
	return math.Exp((vals[i]-hi)/t) / sum
}

// projectScores computes every weighted_sum in declaration order.
func (r *routing) projectScores(set *signal.Set, sc *scratch) {
	for si := range r.scores {
		s := &r.scores[si]
		total, unknown := 0.0, false
		for ii := range s.inputs {
			v, ok := s.inputs[ii].value(set, sc)
			if !ok {
				unknown = true
				break
			}
			total += s.inputs[ii].weight * v
		}
		sc.scores[si] = scoreState{v: total, unknown: unknown}
		if unknown {
			sc.scores[si].v = 0
		}
	}
}

// value is one input's contribution before weighting; ok is false when the
// input's family failed, which makes the whole score unknown.
func (in *scoreInput) value(set *signal.Set, sc *scratch) (float64, bool) {
	switch in.kind {
	case inKBMetric:
		v, ok := set.Score(in.probe.family, in.probe.key)
		if !ok && set.Err(in.probe.family) != nil {
			// The kb family could not score the query: the metric, and
			// so the score, is unknown.
			return 0, false
		}
		return v, true
	case inScore:
		s := sc.scores[in.slot]
		return s.v, !s.unknown
	case inMember:
		m := sc.members[in.slot]
		switch {
		case m.st == stUnknown:
			return 0, false
		case in.source == vsConfidence:
			if m.st == stTrue {
				return m.conf, true
			}
			return 0, true
		case m.st == stTrue:
			return in.match, true
		default:
			return in.miss, true
		}
	}
	if in.source == vsRaw {
		v, ok := set.Score(in.probe.family, in.probe.key)
		if !ok && set.Err(in.probe.family) != nil {
			return 0, false
		}
		return v, true
	}
	m, ok := in.probe.lookup(set)
	if !ok {
		if set.Err(in.probe.family) != nil {
			return 0, false
		}
		if in.source == vsConfidence {
			return 0, true
		}
		return in.miss, true
	}
	if in.source == vsConfidence {
		return matchConfidence(m), true
	}
	return in.match, true
}

// projectMappings turns scores into band outputs.
func (r *routing) projectMappings(sc *scratch) {
	for mi := range r.mappings {
		m := &r.mappings[mi]
		src := sc.scores[m.source]
		emitted := false
		for bi := range m.bands {
			b := &m.bands[bi]
			switch {
			case src.unknown:
				sc.outputs[b.slot] = slotState{st: stUnknown}
			case (!emitted || m.multi) && b.b.contains(src.v):
				emitted = true
				sc.outputs[b.slot] = slotState{st: stTrue, conf: sigmoidDistance(&b.b, src.v, m.slope)}
			default:
				sc.outputs[b.slot] = slotState{}
			}
		}
	}
}

// sigmoidDistance is the calibrated confidence of a band for value v: the
// logistic of slope × the distance from v to the band's nearest edge (1 when
// the band has no edge).
func sigmoidDistance(b *bounds, v, slope float64) float64 {
	d := math.Inf(1)
	if b.hasGT {
		d = math.Min(d, math.Abs(v-b.gt))
	}
	if b.hasGTE {
		d = math.Min(d, math.Abs(v-b.gte))
	}
	if b.hasLT {
		d = math.Min(d, math.Abs(b.lt-v))
	}
	if b.hasLTE {
		d = math.Min(d, math.Abs(b.lte-v))
	}
	if math.IsInf(d, 1) {
		d = 1
	}
	return 1 / (1 + math.Exp(-slope*d))
}

// evalLeaf evaluates one condition.
func (r *routing) evalLeaf(l *leaf, set *signal.Set, sc *scratch) (state, float64) {
	var st state
	var conf float64
	switch l.kind {
	case leafMember:
		s := sc.members[l.slot]
		st, conf = s.st, s.conf
	case leafOutput:
		s := sc.outputs[l.slot]
		st, conf = s.st, s.conf
	case leafScore:
		s := sc.scores[l.slot]
		switch {
		case s.unknown:
			st = stUnknown
		case s.v > 0:
			st, conf = stTrue, math.Min(s.v, 1)
		}
	default:
		st, conf = l.evalSignal(set)
	}
	if st == stUnknown {
		switch l.onError {
		case onErrorMatch:
			return stTrue, 1
		case onErrorNoMatch:
			return stFalse, 0
		}
	}
	return st, conf
}

func (l *leaf) evalSignal(set *signal.Set) (state, float64) {
	if l.hasPred {
		if v, ok := set.Score(l.probe.family, l.probe.key); ok {
			if !l.pred.contains(v) {
				return stFalse, 0
			}
			if m, matched := set.Lookup(l.probe.family, l.probe.key); matched {
				return stTrue, matchConfidence(m)
			}
			return stTrue, 1
		}
	} else if m, ok := l.probe.lookup(set); ok {
		return stTrue, matchConfidence(m)
	}
	if set.Err(l.probe.family) != nil {
		return stUnknown, 0
	}
	return stFalse, 0
}

// evalNode evaluates a rule node with Kleene logic: AND is false if any
// child is false, else unknown if any is unknown, else true with the mean
// confidence (an empty AND is true at confidence 0); OR is true if any child
// is true (best confidence), else unknown if any is unknown; NOT swaps true
// and false (NOT of a non-match has confidence 1) and keeps unknown.
func (r *routing) evalNode(idx int32, set *signal.Set, sc *scratch) (state, float64) {
	n := &r.nodes[idx]
	switch n.op {
	case opLeaf:
		return r.evalLeaf(&r.leaves[n.leaf], set, sc)
	case opNot:
		st, _ := r.evalNode(r.kids[n.first], set, sc)
		switch st {
		case stTrue:
			return stFalse, 0
		case stFalse:
			return stTrue, 1
		}
		return stUnknown, 0
	case opOr:
		res, best := stFalse, 0.0
		for _, k := range r.kids[n.first : n.first+n.n] {
			st, c := r.evalNode(k, set, sc)
			switch {
			case st == stTrue && (res != stTrue || c > best):
				res, best = stTrue, c
			case st == stUnknown && res == stFalse:
				res = stUnknown
			}
		}
		if res != stTrue {
			best = 0
		}
		return res, best
	default: // AND
		if n.n == 0 {
			return stTrue, 0
		}
		res, sum := stTrue, 0.0
		for _, k := range r.kids[n.first : n.first+n.n] {
			st, c := r.evalNode(k, set, sc)
			switch st {
			case stFalse:
				return stFalse, 0
			case stUnknown:
				res = stUnknown
			default:
				sum += c
			}
		}
		if res == stUnknown {
			return stUnknown, 0
		}
		return stTrue, sum / float64(n.n)
	}
}

// explain appends the leaves that justify a true node: every child of an
// AND, the best child of an OR, nothing for a NOT (its child did not match).
func (r *routing) explain(idx int32, set *signal.Set, sc *scratch, out []string) []string {
	n := &r.nodes[idx]
	switch n.op {
	case opLeaf:
		return append(out, r.leaves[n.leaf].text)
	case opNot:
		return out
	case opOr:
		best, bestConf := int32(-1), 0.0
		for _, k := range r.kids[n.first : n.first+n.n] {
			if st, c := r.evalNode(k, set, sc); st == stTrue && (best < 0 || c > bestConf) {
				best, bestConf = k, c
			}
		}
		if best >= 0 {
			return r.explain(best, set, sc, out)
		}
		return out
	default:
		for _, k := range r.kids[n.first : n.first+n.n] {
			out = r.explain(k, set, sc, out)
		}
		return out
	}
}
