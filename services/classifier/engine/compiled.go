package engine

import (
	"sync"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// state is a three-valued truth: a condition whose family failed is unknown
// rather than false, so NOT cannot turn a failure into a match.
type state uint8

const (
	stFalse state = iota
	stTrue
	stUnknown
)

type leafKind uint8

const (
	leafSignal leafKind = iota // a family rule looked up in the Set
	leafMember                 // a partition member: read its slot
	leafOutput                 // a mapping band (`type: projection`)
	leafScore                  // a score (`type: projection` naming a score)
)

type onError uint8

const (
	onErrorUnknown onError = iota
	onErrorMatch
	onErrorNoMatch
	// onErrorFail leaves the leaf unknown and makes its decision fail the
	// request when the decision stays unknown (as on_unknown: fail_request).
	onErrorFail
)

type onUnknown uint8

const (
	onUnknownNoMatch onUnknown = iota
	onUnknownMatch
	onUnknownFail
)

// probe is a resolved family lookup: the rule key plus, for domains, the
// mmlu categories that also satisfy it.
type probe struct {
	family signal.Family
	key    string
	cats   []string
}

// lookup returns the best match of the probe in set.
func (p *probe) lookup(set *signal.Set) (signal.Match, bool) {
	best, ok := set.Lookup(p.family, p.key)
	for _, c := range p.cats {
		if m, found := set.Lookup(p.family, c); found && (!ok || m.Confidence > best.Confidence) {
			best, ok = m, true
		}
	}
	return best, ok
}

type bounds struct {
	gt, gte, lt, lte             float64
	hasGT, hasGTE, hasLT, hasLTE bool
}

func newBounds(gt, gte, lt, lte *float64) bounds {
	var b bounds
	if gt != nil {
		b.gt, b.hasGT = *gt, true
	}
	if gte != nil {
		b.gte, b.hasGTE = *gte, true
	}
	if lt != nil {
		b.lt, b.hasLT = *lt, true
	}
	if lte != nil {
		b.lte, b.hasLTE = *lte, true
	}
	return b
}

func (b *bounds) empty() bool { return !b.hasGT && !b.hasGTE && !b.hasLT && !b.hasLTE }

func (b *bounds) contains(v float64) bool {
	return (!b.hasGT || v > b.gt) && (!b.hasGTE || v >= b.gte) &&
		(!b.hasLT || v < b.lt) && (!b.hasLTE || v <= b.lte)
}

type leaf struct {
	kind    leafKind
	probe   probe
	slot    int32
	pred    bounds
	hasPred bool
	onError onError
	text    string // "type:name" reported in MatchedConditions
}

type opKind uint8

const (
	opLeaf opKind = iota
	opAnd
	opOr
	opNot
)

type node struct {
	op    opKind
	leaf  int32 // index into routing.leaves when op == opLeaf
	first int32 // children are routing.kids[first : first+n]
	n     int32
}

type decision struct {
	name      string
	priority  int
	tier      int
	root      int32
	catchAll  bool
	onUnknown onUnknown
	refs      []ModelRef
	plugins   []Plugin
	selector  selection.Selector
}

type partition struct {
	name    string
	softmax bool
	temp    float64
	members []member
	deflt   int // index into members, -1 when none
}

type member struct {
	name  string
	probe probe
	slot  int32
}

type scoreInputKind uint8

const (
	inSignal scoreInputKind = iota
	inScore
	inMember
	inKBMetric
)

type valueSource uint8

const (
	vsBinary valueSource = iota
	vsConfidence
	vsRaw
)

type scoreInput struct {
	kind   scoreInputKind
	probe  probe
	slot   int32 // score or member slot
	weight float64
	source valueSource
	match  float64
	miss   float64
}

type score struct {
	name   string
	inputs []scoreInput
}

type band struct {
	name string
	b    bounds
	slot int32
}

type mapping struct {
	name   string
	source int32
	multi  bool
	slope  float64
	bands  []band
}

// routing is one compiled routing block (top level or a recipe).
type routing struct {
	recipe             string
	strategyConfidence bool

	leaves    []leaf
	nodes     []node
	kids      []int32
	decisions []decision

	partitions  []partition
	scores      []score
	mappings    []mapping
	memberNames []string // by member slot
	outputNames []string // by output slot

	pool sync.Pool // *scratch
}

type slotState struct {
	st   state
	conf float64
}

type scoreState struct {
	v       float64
	unknown bool
}

type matchedDecision struct {
	idx  int32
	conf float64
}

// scratch is the per-evaluation working memory, pooled per routing.
type scratch struct {
	members []slotState
	outputs []slotState
	scores  []scoreState
	matched []matchedDecision
	vals    []float64 // partition softmax inputs
	// selScores receives the selection algorithm's per-modelRef scores
	// (selection.Input.Scores); as long as the longest modelRefs list.
	selScores []float64
}

func (r *routing) getScratch() *scratch {
	if s, ok := r.pool.Get().(*scratch); ok {
		return s
	}
	maxMembers := 0
	for i := range r.partitions {
		maxMembers = max(maxMembers, len(r.partitions[i].members))
	}
	maxRefs := 0
	for i := range r.decisions {
		maxRefs = max(maxRefs, len(r.decisions[i].refs))
	}
	return &scratch{
		members:   make([]slotState, len(r.memberNames)),
		outputs:   make([]slotState, len(r.outputNames)),
		scores:    make([]scoreState, len(r.scores)),
		matched:   make([]matchedDecision, 0, len(r.decisions)),
		vals:      make([]float64, maxMembers),
		selScores: make([]float64, maxRefs),
	}
}
