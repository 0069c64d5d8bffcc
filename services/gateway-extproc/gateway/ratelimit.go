package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
)

// PathRateLimited is the response path of a request a rate limit
// refused (429, or 503 when a provider failed and fail_open is false).
const PathRateLimited = "rate_limited"

// OpenAI-style rate limit response headers.
const (
	HeaderRetryAfter             = "retry-after"
	HeaderRateLimitLimitRequests = "x-ratelimit-limit-requests"
	HeaderRateLimitRemainingReq  = "x-ratelimit-remaining-requests"
	HeaderRateLimitResetRequests = "x-ratelimit-reset-requests"
	HeaderRateLimitLimitTokens   = "x-ratelimit-limit-tokens"
	HeaderRateLimitRemainingTok  = "x-ratelimit-remaining-tokens"
	HeaderRateLimitResetTokens   = "x-ratelimit-reset-tokens"
)

// Error type and codes of rate limit refusals.
const (
	TypeRateLimitExceeded    = "rate_limit_exceeded"
	CodeRateLimitExceeded    = "rate_limit_exceeded"
	CodeRateLimitUnavailable = "rate_limit_unavailable"
)

// rateLimitOutcome is what the rate limit check decided for this
// exchange (Finish debits the tokens through it).
type rateLimitOutcome struct {
	lim    *ratelimit.Limiter
	caller ratelimit.Caller
	res    ratelimit.Result
	// checked: Check ran (res is set).
	checked bool
}

// WithRateLimitMaxKeys bounds the callers each local rate limit rule
// keeps a budget for (default ratelimit.DefaultMaxKeys).
func WithRateLimitMaxKeys(n int) Option { return func(g *Gateway) { g.limits.MaxKeys = n } }

// CloseRateLimits closes the connections to envoy-ratelimit services.
func (g *Gateway) CloseRateLimits() { g.limits.Close() }

// rateLimit checks a request about to go upstream (fwd) against the
// rate limits, once (an auto chat request in route, before its image_gen,
// rag, memory and tools plugins; others when their Forward is ready); a
// refusal replaces it with a 429 (503 when a provider failed and
// fail_open is false). Immediate answers (cache hits, blocks,
// fast responses, rejections) are not limited: they cost no upstream.
func (x *Exchange) rateLimit(ctx context.Context, imm *Immediate, fwd *Forward) (*Immediate, *Forward) {
	if imm != nil || fwd == nil || x.limit.checked {
		// Checked once per request: route checks an auto chat request
		// before its plugins run.
		return imm, fwd
	}
	// A revision without limits still goes to the holder, which then
	// drops the old budgets and connections (cheap when nothing changed).
	lim := x.g.limits.For(x.t.RevisionNumber(), x.t.RateLimit, x.g.log)
	if lim == nil {
		return imm, fwd
	}
	o := &x.limit
	o.lim = lim
	id := x.identity()
	o.caller = ratelimit.Caller{User: id.User, Groups: id.Groups, Requested: x.req.Model}
	if m := x.routed.target.Model; m != nil {
		o.caller.Model, o.caller.ModelID = m.Name, m.ProviderModelID
	}
	if len(lim.Settings().Envoy) > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, x.t.StageTimeout)
		defer cancel()
	}
	o.res, o.checked = lim.Check(ctx, x.g.now(), &o.caller), true
	res := &o.res
	if res.ProviderErr != nil {
		x.g.metrics.RateLimitProviderError(res.Provider, res.Allowed)
		x.g.log.Warn("rate limit provider failed", slog.String("provider", res.Provider),
			slog.Bool("fail_open", res.Allowed), slog.Any("error", res.ProviderErr))
	}
	if res.Allowed {
		return nil, fwd
	}
	x.routed.path = PathRateLimited
	var e *chatreq.APIError
	if res.Unavailable {
		e = &chatreq.APIError{Status: http.StatusServiceUnavailable, Type: chatreq.TypeServer, Code: CodeRateLimitUnavailable,
			Message: "rate limit service unavailable; try again later"}
	} else {
		x.g.metrics.RateLimited(res.Rule, res.Provider)
		e = &chatreq.APIError{Status: http.StatusTooManyRequests, Type: TypeRateLimitExceeded, Code: CodeRateLimitExceeded,
			Message: "rate limit exceeded: rule " + strconv.Quote(res.Rule) + " (" + res.Budget + " budget); retry after " +
				strconv.FormatInt(retryAfterSeconds(res.RetryAfter), 10) + "s"}
	}
	out := errorResponse(e)
	out.Headers = append(out.Headers, Header{HeaderRetryAfter, strconv.FormatInt(retryAfterSeconds(res.RetryAfter), 10)})
	out.Headers = appendQuotaHeaders(out.Headers, res)
	out.Headers = append(out.Headers, Header{HeaderSchemaVersion, schemaVersion}, Header{HeaderResponsePath, PathRateLimited})
	return out, nil
}

// appendRateLimitHeaders adds the remaining budgets of an allowed request
// to its response.
func (x *Exchange) appendRateLimitHeaders(h []Header) []Header {
	if !x.limit.checked || !x.limit.res.Allowed {
		return h
	}
	return appendQuotaHeaders(h, &x.limit.res)
}

// StaleRateLimitHeaders names the x-ratelimit-* headers that an upstream
// answer may carry and that the router's own in h (ResponseHeaders) do
// not replace: when the router reports its budgets, the proxy removes
// these, so that a client never reads the router's budget of one kind
// next to a provider's budget of the other (its key's, shared by every
// caller). None when h reports no budget.
func StaleRateLimitHeaders(h []Header) []string {
	names := [...]string{HeaderRateLimitLimitRequests, HeaderRateLimitRemainingReq, HeaderRateLimitResetRequests,
		HeaderRateLimitLimitTokens, HeaderRateLimitRemainingTok, HeaderRateLimitResetTokens}
	var set [len(names)]bool
	found := false
	for _, x := range h {
		for i, n := range names {
			if x.Name == n {
				set[i], found = true, true
			}
		}
	}
	if !found {
		return nil
	}
	var out []string
	for i, n := range names {
		if !set[i] {
			out = append(out, n)
		}
	}
	return out
}

func appendQuotaHeaders(h []Header, res *ratelimit.Result) []Header {
	if q := res.Requests; q.Limit > 0 {
		h = append(h, Header{HeaderRateLimitLimitRequests, strconv.FormatInt(q.Limit, 10)},
			Header{HeaderRateLimitRemainingReq, strconv.FormatInt(max(q.Remaining, 0), 10)},
			Header{HeaderRateLimitResetRequests, formatReset(q.Reset)})
	}
	if q := res.Tokens; q.Limit > 0 {
		h = append(h, Header{HeaderRateLimitLimitTokens, strconv.FormatInt(q.Limit, 10)},
			Header{HeaderRateLimitRemainingTok, strconv.FormatInt(max(q.Remaining, 0), 10)},
			Header{HeaderRateLimitResetTokens, formatReset(q.Reset)})
	}
	return h
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// formatReset renders a reset delay the way OpenAI does ("1s", "6m0s",
// "20ms").
func formatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// debitRateLimit spends the tokens of a finished 2xx response from the
// caller's token budgets: the usage the upstream reported (prompt +
// completion), or, when it reported none, an estimate (request bytes / 4
// for the prompt; one token per streamed event or response bytes / 4 for
// the completion); a multi-call algorithm spends what all its sub-calls
// used (LooperCallCost). Local budgets are debited at once; envoy-ratelimit
// services with a token limit for the caller are told in the background
// (Gateway.Wait waits for it).
func (x *Exchange) debitRateLimit(ctx context.Context) {
	o := &x.limit
	s := &x.resp
	if !o.checked || !o.res.Allowed || (!o.lim.Local() && !o.res.EnvoyDebit()) || s.status < 200 || s.status >= 300 {
		return
	}
	n := s.usage.PromptTokens + s.usage.CompletionTokens
	x.cost.mu.Lock()
	sub, subTokens := x.cost.subCalls, x.cost.subTokens
	x.cost.mu.Unlock()
	if sub {
		// A multi-call algorithm: every sub-call was spent upstream.
		n = subTokens
	} else if !s.hasUsage || n <= 0 {
		n = int64(len(x.req.Raw())) / 4
		if s.reasm != nil {
			n += int64(s.reasm.Events)
		} else {
			n += int64(len(s.buf)) / 4
		}
	}
	o.lim.Debit(x.g.now(), &o.caller, n)
	if !o.res.EnvoyDebit() {
		return
	}
	lim, caller, res := o.lim, o.caller, o.res
	ctx = context.WithoutCancel(ctx)
	x.g.background.Add(1)
	go func() {
		defer x.g.background.Done()
		ctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		if err := lim.DebitEnvoy(ctx, &caller, &res, n); err != nil {
			x.g.log.Warn("rate limit token report failed", slog.String("provider", ratelimit.ProviderEnvoy),
				slog.Int64("tokens", n), slog.Any("error", err))
		}
	}()
}

// errorReasonRateLimited is the llm_request_errors_total reason of a
// rate-limited exchange ("" otherwise).
func (x *Exchange) errorReasonRateLimited() string {
	if x.routed.path == PathRateLimited {
		return metrics.ReasonRateLimited
	}
	return ""
}
