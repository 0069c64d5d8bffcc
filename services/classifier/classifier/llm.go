package classifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/llmlabel"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// ErrLocalClassifier is the family error of a `type: local` classifier:
// semrouter cannot load arbitrary sequence-classification models yet, so
// its conditions follow their on_error.
var ErrLocalClassifier = errors.New("classifier type local has no effect yet")

// referencedClassifiers returns the names of classifiers that the rules of
// decisions reference.
func referencedClassifiers(decisions ...[]config.Decision) map[string]bool {
	out := map[string]bool{}
	var walk func(n *config.RuleNode)
	walk = func(n *config.RuleNode) {
		if n.Type == string(signal.Classifier) && n.Name != "" {
			out[n.Name] = true
		}
		for i := range n.Conditions {
			walk(&n.Conditions[i])
		}
	}
	for _, ds := range decisions {
		for i := range ds {
			walk(&ds[i].Rules)
		}
	}
	return out
}

// classifierFamily builds the classifiers family of one profile: only
// the classifiers its decisions reference (nil when none).
func classifierFamily(cfg *config.Config, sig *config.Signals, used map[string]bool, o *options) (*llmlabel.Family, error) {
	if len(used) == 0 || len(sig.Classifiers) == 0 {
		return nil, nil
	}
	ext := map[string]*config.ExternalModel{}
	for i := range cfg.Global.ModelCatalog.External {
		m := &cfg.Global.ModelCatalog.External[i]
		ext[m.Name] = m
	}
	var cs []*llmlabel.Classifier
	for _, s := range sig.Classifiers {
		if !used[s.Name] {
			continue
		}
		c := &llmlabel.Classifier{Name: s.Name, Labels: s.Labels, Instructions: s.Instructions}
		switch s.Type {
		case "llm":
			m, ok := ext[s.Model]
			if !ok || m.LLMEndpoint == nil {
				return nil, fmt.Errorf("classifier %q: model %q is not an external model with an llm_endpoint", s.Name, s.Model)
			}
			ep, err := endpointOf(m)
			if err != nil {
				return nil, fmt.Errorf("classifier %q: %w", s.Name, err)
			}
			c.Endpoint = ep
		default:
			c.Unavailable = fmt.Errorf("%w (model_path %q)", ErrLocalClassifier, s.ModelPath)
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return llmlabel.NewFamily(cs, o.httpClient, o.llmCache), nil
}

// endpointOf maps an external model to its chat-completions endpoint.
func endpointOf(m *config.ExternalModel) (*llmlabel.Endpoint, error) {
	e := m.LLMEndpoint
	proto := e.Protocol
	if proto == "" {
		proto = "http"
	}
	host := e.Address
	if e.Port > 0 {
		host = net.JoinHostPort(e.Address, strconv.Itoa(e.Port))
	}
	ep := &llmlabel.Endpoint{
		URL:         proto + "://" + host + "/v1/chat/completions",
		Model:       m.LLMModelName,
		AccessKey:   m.AccessKey,
		Temperature: m.Temperature,
		MaxTokens:   m.MaxTokens,
		Timeout:     time.Duration(m.LLMTimeoutSeconds) * time.Second,
	}
	if t := strings.TrimSpace(e.PromptTemplate); t != "" {
		tp, err := template.New(m.Name).Option("missingkey=error").Parse(e.PromptTemplate)
		if err != nil {
			return nil, fmt.Errorf("parse prompt_template of external model %q: %w", m.Name, err)
		}
		ep.Template = tp
	}
	return ep, nil
}

// startClassifiers runs the classifiers family of p in the background and
// returns a function that waits for its outcome (nil when p has none).
func startClassifiers(ctx context.Context, p *profile, req *Request) func() signal.Outcome {
	if p.llm == nil {
		return nil
	}
	ch := make(chan signal.Outcome, 1)
	text := currentText(req.Messages)
	go func() { ch <- p.llm.Evaluate(ctx, text) }()
	return func() signal.Outcome { return <-ch }
}
