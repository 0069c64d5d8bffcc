package hftokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
)

type model interface {
	appendIDs(dst []int32, word string) []int32
	size() int
}

type modelJSON struct {
	Type         string          `json:"type"`
	Vocab        json.RawMessage `json:"vocab"`
	UnkID        *int            `json:"unk_id"`
	UnkToken     *string         `json:"unk_token"`
	ByteFallback bool            `json:"byte_fallback"`
}

func parseModel(p *problems, raw json.RawMessage) (string, model) {
	var m modelJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		p.add("model", err)
		return "", nil
	}
	typ := m.Type
	if typ == "" && strings.HasPrefix(strings.TrimSpace(string(m.Vocab)), "[") {
		typ = ModelUnigram // older files: a list vocabulary is Unigram
	}
	switch typ {
	case ModelUnigram:
		return typ, parseUnigram(p, m)
	case ModelWordLevel:
		return typ, parseWordLevel(p, m)
	case "":
		p.add("model.type", errors.New("missing"))
	default:
		p.unsupported("model.type", fmt.Sprintf("%q (this package reads Unigram and WordLevel)", typ))
	}
	return typ, nil
}

// unigram is the SentencePiece unigram model.
type unigram struct {
	pieces       []string
	scores       []float64
	ids          map[string]int32 // a later duplicate wins, as in the reference
	root         *trieNode
	unkID        int32
	unkScore     float64
	byteFallback bool
	bytes        [256]int32 // <0xXX> piece ids, -1 when missing
	pool         sync.Pool
}

type trieNode struct {
	children map[rune]*trieNode
	id       int32 // -1 when no piece ends here
}

func parseUnigram(p *problems, m modelJSON) *unigram {
	var entries [][2]json.RawMessage
	if err := json.Unmarshal(m.Vocab, &entries); err != nil {
		p.add("model.vocab", fmt.Errorf("want [[piece, score], ...]: %w", err))
		return nil
	}
	if len(entries) == 0 {
		p.add("model.vocab", errors.New("empty"))
		return nil
	}
	u := &unigram{
		pieces: make([]string, len(entries)),
		scores: make([]float64, len(entries)),
		ids:    make(map[string]int32, len(entries)),
		root:   &trieNode{children: map[rune]*trieNode{}, id: -1},
	}
	minScore := math.Inf(1)
	bad := 0
	for i, e := range entries {
		if err := json.Unmarshal(e[0], &u.pieces[i]); err != nil || u.pieces[i] == "" {
			bad++
			if bad <= 3 {
				p.add(fmt.Sprintf("model.vocab[%d][0]", i), errors.New("want a non-empty string"))
			}
			continue
		}
		if err := json.Unmarshal(e[1], &u.scores[i]); err != nil {
			bad++
			if bad <= 3 {
				p.add(fmt.Sprintf("model.vocab[%d][1]", i), errors.New("want a number"))
			}
			continue
		}
		minScore = min(minScore, u.scores[i])
		u.ids[u.pieces[i]] = int32(i)
		node := u.root
		for _, r := range u.pieces[i] {
			next, ok := node.children[r]
			if !ok {
				next = &trieNode{children: map[rune]*trieNode{}, id: -1}
				node.children[r] = next
			}
			node = next
		}
		node.id = int32(i)
	}
	if bad > 3 {
		p.add("model.vocab", fmt.Errorf("%d malformed entries in all", bad))
	}
	u.unkScore = minScore - 10
	switch {
	case m.UnkID == nil:
		p.add("model.unk_id", fmt.Errorf("missing (a Unigram model without an unknown piece: %w)", ErrUnsupported))
	case *m.UnkID < 0 || *m.UnkID >= len(entries):
		p.add("model.unk_id", fmt.Errorf("%d outside the vocabulary [0,%d)", *m.UnkID, len(entries)))
	default:
		u.unkID = int32(*m.UnkID)
	}
	u.byteFallback = m.ByteFallback
	for i := range u.bytes {
		u.bytes[i] = -1
		if id, ok := u.ids[fmt.Sprintf("<0x%02X>", i)]; ok {
			u.bytes[i] = id
		}
	}
	u.pool.New = func() any { return &lattice{} }
	return u
}

func (u *unigram) size() int { return len(u.pieces) }

// lattice is the per-call scratch space, pooled.
type lattice struct {
	runes []rune
	offs  []int // byte offset of each rune, plus the end
	best  []bestNode
	path  []span
}

type span struct {
	start, end int32
	id         int32
}

type bestNode struct {
	score float64
	start int32 // -1: not reached
	id    int32
}

// appendIDs runs the Viterbi search over word (best segmentation by total
// piece score; on a tie the first one found stays), then fuses runs of
// unknown pieces and maps each fused run to its byte pieces (byte_fallback)
// or the unknown id.
func (u *unigram) appendIDs(dst []int32, word string) []int32 {
	l := u.pool.Get().(*lattice)
	defer u.pool.Put(l)
	l.runes, l.offs = l.runes[:0], l.offs[:0]
	for i, r := range word {
		l.runes = append(l.runes, r)
		l.offs = append(l.offs, i)
	}
	l.offs = append(l.offs, len(word))
	n := len(l.runes)
	if cap(l.best) < n+1 {
		l.best = make([]bestNode, n+1)
	}
	l.best = l.best[:n+1]
	for i := range l.best {
		l.best[i] = bestNode{start: -1}
	}
	l.best[0].start = 0
	for i := 0; i < n; i++ {
		base := l.best[i].score
		single := false
		node := u.root
		for j := i; j < n; j++ {
			next, ok := node.children[l.runes[j]]
			if !ok {
				break
			}
			node = next
			if node.id < 0 {
				continue
			}
			single = single || j == i
			cand := u.scores[node.id] + base
			if t := &l.best[j+1]; t.start < 0 || cand > t.score {
				*t = bestNode{score: cand, start: int32(i), id: node.id}
			}
		}
		if !single {
			cand := u.unkScore + base
			if t := &l.best[i+1]; t.start < 0 || cand > t.score {
				*t = bestNode{score: cand, start: int32(i), id: u.unkID}
			}
		}
	}
	l.path = l.path[:0]
	for end := n; end > 0; end = int(l.best[end].start) {
		l.path = append(l.path, span{start: l.best[end].start, end: int32(end), id: l.best[end].id})
	}
	// l.path runs from the end; walk it backwards, fusing unknown runs.
	for k := len(l.path) - 1; k >= 0; k-- {
		sp := l.path[k]
		if sp.id != u.unkID {
			dst = append(dst, sp.id)
			continue
		}
		for k > 0 && l.path[k-1].id == u.unkID {
			k--
		}
		dst = u.appendUnknown(dst, word[l.offs[sp.start]:l.offs[l.path[k].end]])
	}
	return dst
}

// appendUnknown maps a fused run of unknown text: its own id when it is a
// piece, else its bytes' <0xXX> pieces (byte_fallback), else the unknown id.
func (u *unigram) appendUnknown(dst []int32, text string) []int32 {
	if id, ok := u.ids[text]; ok {
		return append(dst, id)
	}
	if u.byteFallback && u.hasBytes(text) {
		for i := 0; i < len(text); i++ {
			dst = append(dst, u.bytes[text[i]])
		}
		return dst
	}
	return append(dst, u.unkID)
}

func (u *unigram) hasBytes(text string) bool {
	for i := 0; i < len(text); i++ {
		if u.bytes[text[i]] < 0 {
			return false
		}
	}
	return true
}

// wordLevel maps each word to its id or the unknown token's.
type wordLevel struct {
	vocab map[string]int32
	unkID int32
}

func parseWordLevel(p *problems, m modelJSON) *wordLevel {
	w := &wordLevel{}
	if err := json.Unmarshal(m.Vocab, &w.vocab); err != nil {
		p.add("model.vocab", fmt.Errorf("want {token: id, ...}: %w", err))
		return nil
	}
	if len(w.vocab) == 0 {
		p.add("model.vocab", errors.New("empty"))
		return nil
	}
	switch {
	case m.UnkToken == nil:
		p.add("model.unk_token", errors.New("missing"))
	default:
		id, ok := w.vocab[*m.UnkToken]
		if !ok {
			p.add("model.unk_token", fmt.Errorf("%q is not in the vocabulary", *m.UnkToken))
		}
		w.unkID = id
	}
	return w
}

func (w *wordLevel) size() int { return len(w.vocab) }

func (w *wordLevel) appendIDs(dst []int32, word string) []int32 {
	if id, ok := w.vocab[word]; ok {
		return append(dst, id)
	}
	return append(dst, w.unkID)
}
