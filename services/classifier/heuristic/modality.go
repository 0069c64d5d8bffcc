package heuristic

import (
	"context"
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Modalities a request can need.
const (
	ModalityAR        = "AR"        // text generation (autoregressive)
	ModalityDiffusion = "DIFFUSION" // image generation
	ModalityBoth      = "BOTH"      // text and image
)

// ModalityRule mirrors routing.signals.modality[]: the rule named after the
// detected modality (AR, DIFFUSION or BOTH) matches.
type ModalityRule struct {
	Name string
}

// ModalityDetection mirrors global.model_catalog.modules.modality_detector
// (and the per-decision modality_detection block).
//
// Keyword detection: the prompt asks for an image when it starts with one
// of PromptPrefixes or contains one of Keywords (whole words,
// case-insensitive); it then needs BOTH when it also contains one of
// BothKeywords, else DIFFUSION; anything else is AR (confidence 0.8 for
// AR and DIFFUSION, 0.75 for BOTH).
//
// Method "keyword" uses keywords only; "classifier" uses the
// ModalityClassifier only; "hybrid" (default when a classifier is wired)
// trusts the classifier at ≥ ConfidenceThreshold (default 0.7), averages
// the two when they agree, keeps the classifier at ≥ ConfidenceThreshold ×
// LowerThresholdRatio (default 0.7) and otherwise takes the keyword result;
// without a classifier it falls back to keywords.
type ModalityDetection struct {
	Method              string
	PromptPrefixes      []string
	Keywords            []string
	BothKeywords        []string
	ConfidenceThreshold float64
	LowerThresholdRatio float64
}

// ModalityClassifier is a model that predicts the modality a prompt needs
// (AR, DIFFUSION or BOTH) with a confidence in [0, 1].
type ModalityClassifier interface {
	ClassifyModality(ctx context.Context, text string) (modality string, confidence float64, err error)
}

type modalityMethod uint8

const (
	modKeyword modalityMethod = iota
	modClassifier
	modHybrid
)

type modalityFamily struct {
	rules      []ModalityRule
	method     modalityMethod
	prefixes   []string
	keywords   []string
	both       []string
	confMin    float64
	lowerRatio float64
	classifier ModalityClassifier
}

func compileModality(rules []ModalityRule, d ModalityDetection, c ModalityClassifier, errs *errorList) *modalityFamily {
	f := &modalityFamily{rules: rules, classifier: c, confMin: d.ConfidenceThreshold, lowerRatio: d.LowerThresholdRatio}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
		switch r.Name {
		case ModalityAR, ModalityDiffusion, ModalityBoth:
		default:
			errs.add(fmt.Sprintf("modality[%d].name", i), r.Name, fmt.Errorf("unknown modality (want AR, DIFFUSION or BOTH)"))
		}
	}
	checkNames(errs, "modality", names)
	switch strings.ToLower(strings.TrimSpace(d.Method)) {
	case "":
		f.method = modKeyword
		if c != nil {
			f.method = modHybrid
		}
	case "keyword":
		f.method = modKeyword
	case "classifier":
		f.method = modClassifier
	case "hybrid":
		f.method = modHybrid
	default:
		errs.add("modality_detector.method", "", fmt.Errorf("unknown method %q (want keyword, classifier or hybrid)", d.Method))
	}
	if f.confMin == 0 {
		f.confMin = 0.7
	}
	if f.lowerRatio == 0 {
		f.lowerRatio = 0.7
	}
	lower := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	f.prefixes, f.keywords, f.both = lower(d.PromptPrefixes), lower(d.Keywords), lower(d.BothKeywords)
	return f
}

func (f *modalityFamily) byKeyword(lowerText string) (string, float64) {
	image := false
	trimmed := strings.TrimLeft(lowerText, " \t\r\n\"'")
	for _, p := range f.prefixes {
		if strings.HasPrefix(trimmed, p) && boundaryOK(trimmed, 0, len(p), p) {
			image = true
			break
		}
	}
	for _, k := range f.keywords {
		if image {
			break
		}
		image = containsWord(lowerText, k, !containsCJK(k))
	}
	if !image {
		return ModalityAR, 0.8
	}
	for _, k := range f.both {
		if containsWord(lowerText, k, !containsCJK(k)) {
			return ModalityBoth, 0.75
		}
	}
	return ModalityDiffusion, 0.8
}

func (f *modalityFamily) detect(ctx context.Context, req *Request) (string, float64, error) {
	text := req.CurrentText()
	if strings.TrimSpace(text) == "" {
		return ModalityAR, 1, nil
	}
	switch f.method {
	case modClassifier:
		if f.classifier == nil {
			return "", 0, fmt.Errorf("modality: method classifier needs a modality classifier and none is configured")
		}
		return f.classifier.ClassifyModality(ctx, text)
	case modHybrid:
		if f.classifier == nil {
			m, c := f.byKeyword(req.curLower)
			return m, c, nil
		}
		cm, cc, err := f.classifier.ClassifyModality(ctx, text)
		km, kc := f.byKeyword(req.curLower)
		switch {
		case err != nil:
			return km, kc, nil
		case cc >= f.confMin:
			return cm, cc, nil
		case cm == km:
			return cm, (cc + kc) / 2, nil
		case cc >= f.confMin*f.lowerRatio:
			return cm, cc, nil
		default:
			return km, kc, nil
		}
	default:
		m, c := f.byKeyword(req.curLower)
		return m, c, nil
	}
}

func (f *modalityFamily) evaluate(st *evalState) signal.Outcome {
	return f.evaluateCtx(context.Background(), st)
}

func (f *modalityFamily) evaluateCtx(ctx context.Context, st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Modality}
	m, conf, err := f.detect(ctx, st.req)
	if err != nil {
		out.Err = err
		return out
	}
	for _, r := range f.rules {
		if r.Name == m {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Modality, Name: r.Name, Confidence: conf, Value: conf})
		}
	}
	return out
}

func (f *modalityFamily) slow() bool { return f.classifier != nil && f.method != modKeyword }
