package gateway

import (
	"bytes"
	"math"
	"strconv"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// Cost headers, in the upstream router's shape: x-vsr-cost is a bare
// amount ("0.000123") and x-vsr-cost-currency its currency ("USD"). A
// request whose calls were priced in several currencies lists one amount
// and one currency per entry, comma-separated in the same order (the
// router never converts currencies).
const (
	// HeaderCost is what the request cost upstream, priced from the
	// serving model's providers.models[].pricing and the reported token
	// usage (every sub-call of a multi-call algorithm; 0 for a cache hit).
	// It is absent when the model has no pricing or its usage is unknown.
	// A streamed answer carries it as a comment event before data: [DONE]
	// (": x-vsr-cost 0.000123 USD").
	HeaderCost = "x-vsr-cost"
	// HeaderCostSaved is, on a cache hit, what the cached answer cost when
	// it was generated (its recorded usage at the serving model's price).
	HeaderCostSaved = "x-vsr-cost-saved"
	// HeaderCostCurrency is the currency of HeaderCost (and of
	// HeaderCostSaved), from pricing.currency.
	HeaderCostCurrency = "x-vsr-cost-currency"
)

// Money is an amount in a currency (a 3-letter code).
type Money struct {
	Currency string  `json:"currency"`
	Amount   float64 `json:"amount"`
}

// PriceUsage returns what usage u costs at pricing p, in p's currency:
// prompt tokens read from the provider's prompt cache at CachedInput,
// those written to it (cache_creation_input_tokens) at CacheWrite, the
// rest of the prompt at Prompt, and the completion (reasoning tokens
// included: OpenAI counts them in completion_tokens) at Completion; the
// prices are per million tokens. Cached and written tokens are part of
// prompt_tokens (OpenAI's cached_tokens are; the Anthropic translation
// counts cache reads and writes in prompt_tokens), so they are priced once.
func PriceUsage(p *routes.Pricing, u sse.Usage) float64 {
	prompt := max(u.PromptTokens, 0)
	cached := min(max(u.CachedTokens, 0), prompt)
	written := min(max(u.CacheWriteTokens, 0), prompt-cached)
	fresh := prompt - cached - written
	return (float64(fresh)*p.Prompt + float64(cached)*p.CachedInput + float64(written)*p.CacheWrite +
		float64(max(u.CompletionTokens, 0))*p.Completion) / 1e6
}

// costState is what the request cost (cost.go). Looper sub-calls may
// report concurrently (fusion, remom), hence the lock.
type costState struct {
	mu sync.Mutex
	// calls sums the priced looper sub-calls (looper is set once a
	// multi-call algorithm ran: the served answer's own usage is then
	// one of them and is not priced again).
	calls  []Money
	looper bool
	// total is the request's cost once known (Finish); saved is what a
	// cache hit saved.
	total, saved []Money
	// unknown: the model is priced but a call reported no usage.
	unknown bool
	// buf backs the stream comment ForwardChunk splices in.
	buf      []byte
	streamed bool
	// subTokens sums the tokens of every 2xx looper sub-call, priced or
	// not (subCalls: at least one): the rate limit token budgets are
	// debited with them (debitRateLimit), not with the served answer's.
	subTokens int64
	subCalls  bool
}

// addMoney adds amount in currency to ms.
func addMoney(ms []Money, currency string, amount float64) []Money {
	for i := range ms {
		if ms[i].Currency == currency {
			ms[i].Amount += amount
			return ms
		}
	}
	return append(ms, Money{Currency: currency, Amount: amount})
}

// costHeaders renders ms as the header name (amounts) plus
// x-vsr-cost-currency (currencies).
func costHeaders(name string, ms []Money) []Header {
	var amounts, currencies []byte
	for i, m := range ms {
		if i > 0 {
			amounts, currencies = append(amounts, ", "...), append(currencies, ", "...)
		}
		amounts = appendAmount(amounts, m.Amount)
		currencies = append(currencies, m.Currency...)
	}
	return []Header{{name, string(amounts)}, {HeaderCostCurrency, string(currencies)}}
}

// appendAmount renders an amount rounded to 1e-10 currency units: sums of
// float prices carry noise in the last digits.
func appendAmount(b []byte, amount float64) []byte {
	return strconv.AppendFloat(b, math.Round(amount*1e10)/1e10, 'f', -1, 64)
}

// appendMoney renders ms for the stream comment ("0.000123 USD[, 0.5 EUR]").
func appendMoney(b []byte, ms []Money) []byte {
	for i, m := range ms {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendAmount(b, m.Amount)
		b = append(b, ' ')
		b = append(b, m.Currency...)
	}
	return b
}

// usageIn reads the usage object of a chat.completion (or embeddings)
// JSON body.
func usageIn(body []byte) (sse.Usage, bool) {
	u := gjson.GetBytes(body, "usage")
	if !u.IsObject() {
		return sse.Usage{}, false
	}
	return sse.ParseUsage(u), true
}

// LooperCallCost prices one answer of a multi-call algorithm's sub-call to
// model (status and JSON body as the upstream answered): its cost adds to
// the request's and to llm_model_cost_total at once, and its tokens to
// what the rate limits debit. Answers that are not 2xx are not counted.
func (x *Exchange) LooperCallCost(model *routes.Model, status int, body []byte) {
	if model == nil || status < 200 || status >= 300 {
		return
	}
	c := &x.cost
	u, ok := usageIn(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subCalls = true
	if n := u.PromptTokens + u.CompletionTokens; ok && n > 0 {
		c.subTokens += n
	} else {
		c.subTokens += int64(len(x.req.Raw())+len(body)) / 4 // the estimate debitRateLimit makes
	}
	if model.Pricing == nil {
		return
	}
	c.looper = true
	if !ok {
		c.unknown = true
		x.g.metrics.CostUnknown(model.Name)
		return
	}
	p := model.Pricing
	amount := PriceUsage(p, u)
	c.calls = addMoney(c.calls, p.Currency, amount)
	x.g.metrics.ModelCost(model.Name, p.Currency, amount)
}

// priceAnswer records the cost of the upstream answer at the end of the
// exchange (Finish): the looper's sub-calls, else the answer's usage.
func (x *Exchange) priceAnswer(u sse.Usage, hasUsage bool) {
	c := &x.cost
	c.mu.Lock()
	defer c.mu.Unlock()
	decision := x.decisionName()
	if c.looper {
		c.total = append(c.total[:0], c.calls...)
		for _, m := range c.total {
			x.g.metrics.DecisionCost(decision, m.Currency, m.Amount)
		}
		return
	}
	m := x.routed.target.Model
	if m == nil || m.Pricing == nil || x.resp.status < 200 || x.resp.status >= 300 {
		return
	}
	if !hasUsage {
		c.unknown = true
		x.g.metrics.CostUnknown(m.Name)
		return
	}
	p := m.Pricing
	amount := PriceUsage(p, u)
	c.total = addMoney(c.total[:0], p.Currency, amount)
	x.g.metrics.ModelCost(m.Name, p.Currency, amount)
	x.g.metrics.DecisionCost(decision, p.Currency, amount)
}

// priceCacheHit records what a cache hit saved: the cached answer's usage
// at the serving model's price. It returns the cost headers of the hit.
func (x *Exchange) priceCacheHit(body []byte) []Header {
	m := x.routed.target.Model
	if m == nil || m.Pricing == nil {
		return nil
	}
	p := m.Pricing
	c := &x.cost
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total = addMoney(c.total[:0], p.Currency, 0)
	h := costHeaders(HeaderCost, c.total)
	u, ok := usageIn(body)
	if !ok {
		return h
	}
	amount := PriceUsage(p, u)
	c.saved = addMoney(c.saved[:0], p.Currency, amount)
	x.g.metrics.CacheSavedCost(x.decisionName(), p.Currency, amount)
	return append(h, costHeaders(HeaderCostSaved, c.saved)[0])
}

func (x *Exchange) decisionName() string {
	if d := x.routed.decision; d != nil {
		return d.Name
	}
	return ""
}

// CostHeaders returns the x-vsr-cost header of a complete non-streaming
// answer, before its headers are sent (API mode reads the body first):
// status and body are the upstream answer the client gets. None when the
// model has no pricing or the body reports no usage. It records nothing
// (Finish does).
func (x *Exchange) CostHeaders(status int, body []byte) []Header {
	if !x.PricesAnswer(status) {
		return nil
	}
	c := &x.cost
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.looper {
		if len(c.calls) == 0 {
			return nil
		}
		return costHeaders(HeaderCost, c.calls)
	}
	u, ok := usageIn(body)
	if !ok {
		return nil
	}
	p := x.routed.target.Model.Pricing
	return costHeaders(HeaderCost, []Money{{p.Currency, PriceUsage(p, u)}})
}

// BodyCostHeaders is CostHeaders for the status ResponseHeaders saw
// (ext_proc: the buffered answer's end, before its headers go out).
func (x *Exchange) BodyCostHeaders(body []byte) []Header {
	return x.CostHeaders(x.resp.status, body)
}

// PricesAnswer reports whether a 2xx answer of this exchange is priced:
// its serving model (or a looper sub-call's) has a pricing block.
func (x *Exchange) PricesAnswer(status int) bool {
	if x.req == nil || status < 200 || status >= 300 {
		return false
	}
	x.cost.mu.Lock()
	looper := x.cost.looper
	x.cost.mu.Unlock()
	if looper {
		return true
	}
	m := x.routed.target.Model
	return m != nil && m.Pricing != nil
}

// Cost is what the request cost upstream (nil: unknown or unpriced) and
// what a cache hit saved (nil: not a hit, or unpriced).
func (x *Exchange) Cost() (total, saved []Money) {
	c := &x.cost
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Money(nil), c.total...), append([]Money(nil), c.saved...)
}

var doneEvent = []byte("data: [DONE]")

// spliceStreamCost inserts the cost comment event before data: [DONE] in
// out, the event-aligned bytes going to the client of a 2xx stream. The
// reassembler has seen the usage chunk by then. It returns out unchanged
// when [DONE] is not in it or the cost is unknown.
func (x *Exchange) spliceStreamCost(out []byte) []byte {
	c := &x.cost
	if c.streamed || x.resp.status < 200 || x.resp.status >= 300 || !x.PricesAnswer(x.resp.status) {
		return out
	}
	i := doneAt(out)
	if i < 0 {
		return out
	}
	c.streamed = true
	c.mu.Lock()
	defer c.mu.Unlock()
	var ms []Money
	if c.looper {
		ms = c.calls
	} else if r := x.resp.reasm; r != nil && r.HasUsage {
		p := x.routed.target.Model.Pricing
		ms = []Money{{p.Currency, PriceUsage(p, r.Usage)}}
	}
	if len(ms) == 0 {
		return out
	}
	b := append(c.buf[:0], out[:i]...)
	b = append(b, ": "+HeaderCost+" "...)
	b = appendMoney(b, ms)
	b = append(b, "\n\n"...)
	b = append(b, out[i:]...)
	c.buf = b
	return b
}

// doneAt is the index of the data: [DONE] event at an event start in b
// (-1: none).
func doneAt(b []byte) int {
	for off := 0; off < len(b); {
		j := bytes.Index(b[off:], doneEvent)
		if j < 0 {
			return -1
		}
		at := off + j
		if at == 0 || b[at-1] == '\n' {
			return at
		}
		off = at + len(doneEvent)
	}
	return -1
}
