package imagegen

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/semrouter/semrouter/pkg/config"
)

// Reasons Decide gives (x-vsr-image-gen header values name them too).
const (
	// ReasonModalitySignal: the classifier's modality signal matched
	// DIFFUSION or BOTH.
	ReasonModalitySignal = "modality_signal"
	// ReasonModalityText: the modality signal matched AR (text).
	ReasonModalityText = "modality_text"
	// ReasonKeyword: the plugin's modality_detection prompt_prefixes or
	// keywords matched.
	ReasonKeyword = "keyword"
	// ReasonNoKeyword: modality_detection is configured and none matched.
	ReasonNoKeyword = "no_keyword"
	// ReasonDecision: no modality information: the decision itself is an
	// image decision.
	ReasonDecision = "decision"
	// ReasonNoPrompt: the last user turn has no text to draw.
	ReasonNoPrompt = "no_prompt"
)

// Modality names of the classifier's modality signal.
const (
	ModalityText      = "AR"
	ModalityDiffusion = "DIFFUSION"
	ModalityBoth      = "BOTH"
)

// detection is the plugin's own keyword check
// (configuration.modality_detection: prompt_prefixes and keywords; its
// classifier and thresholds belong to the classifier's modality signal).
type detection struct {
	prefixes []string
	keywords []string
}

func compileDetection(md *config.ModalityDetection) detection {
	var d detection
	if md == nil || (md.Enabled != nil && !*md.Enabled) {
		return d
	}
	lower := func(in []string) []string {
		var out []string
		for _, s := range in {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	d.prefixes, d.keywords = lower(md.PromptPrefixes), lower(md.Keywords)
	return d
}

func (d detection) configured() bool { return len(d.prefixes)+len(d.keywords) > 0 }

func (d detection) match(lower string) bool {
	trimmed := strings.TrimLeft(lower, " \t\r\n\"'")
	for _, p := range d.prefixes {
		if strings.HasPrefix(trimmed, p) {
			return true
		}
	}
	for _, k := range d.keywords {
		if containsWord(lower, k) {
			return true
		}
	}
	return false
}

// containsWord reports whether w occurs in s with no letter or digit
// right before or after it.
func containsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if !wordRuneBefore(s, i) && !wordRuneAt(s, end) {
			return true
		}
		off = i + 1
	}
}

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// Decide says whether a request with last user text is an image request,
// and why. modality holds the names the classifier's modality signal
// matched (Decision.Matched["modality"]). In order: a DIFFUSION or BOTH
// match says yes; an AR match says no; else, when modality_detection
// names prompt_prefixes or keywords, they decide; else the decision is an
// image decision and the answer is yes. Text without letters is never an
// image request.
func (p *Plugin) Decide(text string, modality []string) (bool, string) {
	if strings.TrimSpace(text) == "" {
		return false, ReasonNoPrompt
	}
	text2 := false
	for _, m := range modality {
		switch strings.ToUpper(m) {
		case ModalityDiffusion, ModalityBoth:
			return true, ReasonModalitySignal
		case ModalityText:
			text2 = true
		}
	}
	if text2 {
		return false, ReasonModalityText
	}
	if p.detect.configured() {
		if p.detect.match(strings.ToLower(text)) {
			return true, ReasonKeyword
		}
		return false, ReasonNoKeyword
	}
	return true, ReasonDecision
}

// Request is one generation.
type Request struct {
	Prompt        string
	Width, Height int
}

// Size renders the OpenAI size field, "WxH".
func (r Request) Size() string {
	return strconv.Itoa(r.Width) + "x" + strconv.Itoa(r.Height)
}

// leadPhrase is the request phrase Prepare removes from the prompt.
var leadPhrase = regexp.MustCompile(`(?i)^\s*(?:(?:please|can you|could you|would you|kindly)[\s,]+)?` +
	`(?:draw|generate|create|make|paint|render|sketch|illustrate|produce|design|show)(?:\s+me)?` +
	`(?:\s+(?:an?|the|some)\s+(?:image|picture|photo|photograph|illustration|drawing|painting|sketch|rendering|render|artwork)s?` +
	`(?:\s+(?:of|showing|with|depicting|for))?)?[\s:,]+`)

// explicitSize is a "WxH" size in the prompt.
var explicitSize = regexp.MustCompile(`(?i)\b(\d{2,4})\s*[x×]\s*(\d{2,4})\b`)

// Prepare turns the last user text into the generation request: the
// prompt without its leading request phrase, and the size (see the
// package documentation).
func (p *Plugin) Prepare(text string) Request {
	text = strings.TrimSpace(text)
	r := Request{Prompt: text, Width: p.width, Height: p.height}
	if loc := leadPhrase.FindStringIndex(text); loc != nil && strings.TrimSpace(text[loc[1]:]) != "" {
		r.Prompt = strings.TrimSpace(text[loc[1]:])
	}
	if m := explicitSize.FindStringSubmatch(text); m != nil {
		w, _ := strconv.Atoi(m[1])
		h, _ := strconv.Atoi(m[2])
		if w >= 64 && h >= 64 && w <= 4096 && h <= 4096 {
			r.Width, r.Height = w/8*8, h/8*8
			return r
		}
	}
	lower := strings.ToLower(text)
	long := max(p.width, p.height)
	short := long * 3 / 4 / 8 * 8
	switch {
	case containsWord(lower, "square"):
		r.Width, r.Height = long, long
	case containsWord(lower, "portrait"):
		r.Width, r.Height = short, long
	case containsWord(lower, "landscape"), containsWord(lower, "widescreen"):
		r.Width, r.Height = long, short
	}
	return r
}
