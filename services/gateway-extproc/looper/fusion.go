package looper

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
)

// defaultSynthesis is the instruction of the synthesis call when
// fusion.synthesis_template is empty.
const defaultSynthesis = "Several assistants answered the conversation above independently. " +
	"Their answers follow. Write the single best final answer to the last user message: " +
	"keep what they get right, resolve their disagreements, fix their mistakes, " +
	"and do not mention that there were several answers."

// analysis is one panel answer.
type analysis struct {
	model string
	text  string
	// reasoning is the answer's reasoning_content, if any (remom
	// include_reasoning).
	reasoning string
	reply     Reply
	err       error
}

// fusion runs the panel: the analysis models (analysis_models, else the
// modelRefs) answer concurrently, at most max_concurrent at a time
// (0: all), each with its analysis_overrides temperature and
// max_completion_tokens (else the block's temperature and
// max_completion_tokens), under round_timeout_seconds; analysis_template,
// when set, is their first (system) message. Then the fusion model
// (fusion.model, else the last modelRef) answers the conversation with
// the analyses appended as a last user message headed by
// synthesis_template (or our default instruction), and its answer is
// served.
//
// A failed analysis fails the request with on_error fail; otherwise it is
// left out. With fewer than min_successful_responses (default 1)
// successful analyses, on_error fallback serves the fusion model's own
// answer to the request, anything else fails the request.
func (r *run) fusion(ctx context.Context) Result {
	f := r.p.cfg.Fusion
	if f == nil {
		f = &config.FusionAlgorithm{}
	}
	policy := onError(f.OnError, r.p.cfg.OnError)
	panel := f.AnalysisModels
	if len(panel) == 0 {
		for _, c := range r.p.refs {
			panel = append(panel, c.Name)
		}
	}
	judge := f.Model
	if judge == "" && len(r.p.refs) > 0 {
		judge = r.p.refs[len(r.p.refs)-1].Name
	}
	var res Result
	if judge == "" || len(panel) == 0 {
		res.Err = ErrNoAnswer
		return res
	}
	res.Called = append(res.Called, panel...)
	results := r.panel(ctx, f, panel)
	var ok []analysis
	for _, a := range results {
		switch {
		case a.err != nil && policy == OnErrorFail:
			res.Reply, res.Err = a.reply, fmt.Errorf("analysis by %s: %w", a.model, a.err)
			return res
		case a.err == nil:
			ok = append(ok, a)
		}
	}
	minOK := max(f.MinSuccessfulResponses, 1)
	synth := Edit{MaxCompletionTokens: f.MaxCompletionTokens}
	if f.Temperature > 0 {
		t := f.Temperature
		synth.Temperature = &t
	}
	if len(ok) < minOK {
		if policy != OnErrorFallback {
			res.Err = fmt.Errorf("%d of %d analyses succeeded, %d needed: %w", len(ok), len(panel), minOK, ErrNoAnswer)
			for _, a := range results {
				if a.err != nil && a.reply.Status != 0 {
					res.Reply = a.reply
				}
			}
			return res
		}
	} else {
		synth.AppendUser = synthesisPrompt(f.SynthesisTemplate, ok)
	}
	res.Called = append(res.Called, judge)
	rep, err := r.call(ctx, judge, synth)
	res.Reply = rep
	if err != nil {
		res.Err = fmt.Errorf("synthesis by %s: %w", judge, err)
		return res
	}
	res.Model = judge
	return res
}

// panel calls the analysis models concurrently within the bounds of f and
// returns their results in panel order.
func (r *run) panel(ctx context.Context, f *config.FusionAlgorithm, panel []string) []analysis {
	overrides := make(map[string]config.FusionOverride, len(f.AnalysisOverrides))
	for _, o := range f.AnalysisOverrides {
		overrides[o.Model] = o
	}
	jobs := make([]job, len(panel))
	for i, model := range panel {
		e := Edit{System: f.AnalysisTemplate, MaxCompletionTokens: f.MaxCompletionTokens}
		if f.Temperature > 0 {
			t := f.Temperature
			e.Temperature = &t
		}
		if o, ok := overrides[model]; ok {
			t := o.Temperature
			e.Temperature = &t
			if o.MaxCompletionTokens > 0 {
				e.MaxCompletionTokens = o.MaxCompletionTokens
			}
		}
		jobs[i] = job{model: model, edit: e}
	}
	return r.parallel(ctx, jobs, f.MaxConcurrent, time.Duration(f.RoundTimeoutSeconds)*time.Second)
}

// job is one call of a parallel round.
type job struct {
	model string
	edit  Edit
}

// parallel runs jobs concurrently, at most limit at a time (0: all),
// within timeout (0: the request deadline only), and returns their
// results in job order. An answer without text is a failure.
func (r *run) parallel(ctx context.Context, jobs []job, limit int, timeout time.Duration) []analysis {
	out := r.fanOut(ctx, jobs, limit, timeout)
	for i := range out {
		a := &out[i]
		if a.err != nil {
			continue
		}
		a.text = strings.TrimSpace(gjson.GetBytes(a.reply.Body, "choices.0.message.content").String())
		if a.text == "" {
			a.err = fmt.Errorf("answer of %s has no text", a.model)
		}
		a.reasoning = strings.TrimSpace(gjson.GetBytes(a.reply.Body, "choices.0.message.reasoning_content").String())
	}
	return out
}

// fanOut runs jobs concurrently, at most limit at a time (0: all), within
// timeout (0: the request deadline only), and returns their replies in
// job order; a job not started before the deadline fails with the
// context's error.
func (r *run) fanOut(ctx context.Context, jobs []job, limit int, timeout time.Duration) []analysis {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if limit <= 0 || limit > len(jobs) {
		limit = len(jobs)
	}
	out := make([]analysis, len(jobs))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for k := i; k < len(jobs); k++ {
				out[k] = analysis{model: jobs[k].model, err: ctx.Err()}
			}
			wg.Wait()
			return out
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rep, err := r.call(ctx, j.model, j.edit)
			out[i] = analysis{model: j.model, reply: rep, err: err}
		}()
	}
	wg.Wait()
	return out
}

// synthesisPrompt is the last user message of the synthesis call.
func synthesisPrompt(template string, as []analysis) string {
	if template = strings.TrimSpace(template); template == "" {
		template = defaultSynthesis
	}
	return answersPrompt(template, as, false)
}
