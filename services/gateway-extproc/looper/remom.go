package looper

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/semrouter/semrouter/pkg/config"
)

// defaultRefine heads a later remom round's extra user message.
const defaultRefine = "Other assistants answered the conversation above; their answers follow. " +
	"Taking what they get right and fixing what they get wrong, write your own best answer to the last user message."

// bytesPerToken approximates a token's length for compaction (no
// tokenizer runs in the gateway).
const bytesPerToken = 4

// remom runs ReMoM: for each breadth_schedule entry a round of that many
// parallel calls (models assigned round-robin over the modelRefs, at most
// max_concurrent at a time, under round_timeout_seconds, with the block's
// temperature and max_completion_tokens). Round one answers the request;
// each later round also sees the previous round's answers. Between rounds
// the answers are compacted (compaction_strategy last_n_tokens keeps the
// last compaction_tokens tokens of each, at about 4 bytes a token),
// shuffled with shuffle_seed (when not 0) and capped at
// max_responses_per_round (0: all); include_reasoning carries an answer's
// reasoning_content with it. Finally synthesis_model (else the last
// modelRef) answers with the last round's answers headed by
// synthesis_template.
//
// A round with fewer than min_successful_responses (default 1) successes
// fails the request, except with on_error fallback, where the synthesis
// model answers the request alone; on_error fail also fails the request
// on any failed call.
func (r *run) remom(ctx context.Context) Result {
	c := r.p.cfg.ReMoM
	if c == nil {
		c = &config.ReMoMAlgorithm{}
	}
	var res Result
	policy := onError(c.OnError, r.p.cfg.OnError)
	judge := c.SynthesisModel
	if judge == "" && len(r.p.refs) > 0 {
		judge = r.p.refs[len(r.p.refs)-1].Name
	}
	if judge == "" || len(r.p.refs) == 0 {
		res.Err = ErrNoAnswer
		return res
	}
	schedule := c.BreadthSchedule
	if len(schedule) == 0 {
		schedule = []int{len(r.p.refs)}
	}
	var rng *rand.Rand
	if c.ShuffleSeed != 0 {
		rng = rand.New(rand.NewPCG(uint64(c.ShuffleSeed), 0))
	}
	base := Edit{MaxCompletionTokens: c.MaxCompletionTokens}
	if c.Temperature > 0 {
		t := c.Temperature
		base.Temperature = &t
	}
	minOK := max(c.MinSuccessfulResponses, 1)
	next := 0 // round-robin position over the modelRefs
	var carried []analysis
	fallback := false
	for round, breadth := range schedule {
		if breadth <= 0 {
			continue
		}
		jobs := make([]job, breadth)
		for i := range jobs {
			e := base
			if round > 0 && len(carried) > 0 {
				e.AppendUser = answersPrompt(defaultRefine, carried, c.IncludeReasoning)
			}
			jobs[i] = job{model: r.p.refs[next%len(r.p.refs)].Name, edit: e}
			next++
			res.Called = append(res.Called, jobs[i].model)
		}
		results := r.parallel(ctx, jobs, c.MaxConcurrent, time.Duration(c.RoundTimeoutSeconds)*time.Second)
		var ok []analysis
		for _, a := range results {
			switch {
			case a.err != nil && policy == OnErrorFail:
				res.Reply, res.Err = a.reply, fmt.Errorf("round %d call to %s: %w", round+1, a.model, a.err)
				return res
			case a.err == nil:
				ok = append(ok, a)
			}
		}
		if len(ok) < minOK {
			if policy == OnErrorFallback {
				fallback = true
				break
			}
			res.Err = fmt.Errorf("round %d: %d of %d calls succeeded, %d needed: %w", round+1, len(ok), breadth, minOK, ErrNoAnswer)
			for _, a := range results {
				if a.err != nil && a.reply.Status != 0 {
					res.Reply = a.reply
				}
			}
			return res
		}
		carried = compact(ok, c, rng)
	}
	synth := base
	if !fallback && len(carried) > 0 {
		tmpl := strings.TrimSpace(c.SynthesisTemplate)
		if tmpl == "" {
			tmpl = defaultSynthesis
		}
		synth.AppendUser = answersPrompt(tmpl, carried, c.IncludeReasoning)
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

// compact shapes a round's answers for the next step: compaction,
// shuffle, cap.
func compact(as []analysis, c *config.ReMoMAlgorithm, rng *rand.Rand) []analysis {
	out := make([]analysis, len(as))
	copy(out, as)
	if c.CompactionStrategy == "last_n_tokens" && c.CompactionTokens > 0 {
		n := c.CompactionTokens * bytesPerToken
		for i := range out {
			out[i].text = lastBytes(out[i].text, n)
			out[i].reasoning = lastBytes(out[i].reasoning, n)
		}
	}
	if rng != nil {
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	if m := c.MaxResponsesPerRound; m > 0 && len(out) > m {
		out = out[:m]
	}
	return out
}

// lastBytes keeps about the last n bytes of s, starting on a rune.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return s
}

// answersPrompt is head followed by the answers.
func answersPrompt(head string, as []analysis, reasoning bool) string {
	var b strings.Builder
	b.WriteString(head)
	for i, a := range as {
		fmt.Fprintf(&b, "\n\n### Answer %d (%s)\n", i+1, a.model)
		if reasoning && a.reasoning != "" {
			fmt.Fprintf(&b, "Reasoning: %s\n\n", a.reasoning)
		}
		b.WriteString(a.text)
	}
	return b.String()
}
