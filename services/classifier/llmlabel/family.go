package llmlabel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Defaults of the cache and of a call without llm_timeout_seconds.
const (
	DefaultCacheSize = 4096
	DefaultCacheTTL  = 5 * time.Minute
	DefaultTimeout   = 10 * time.Second
)

// Endpoint is an external chat-completions endpoint.
type Endpoint struct {
	// URL is the full chat completions URL
	// ({protocol}://{address}:{port}/v1/chat/completions).
	URL         string
	Model       string // llm_model_name
	AccessKey   string // sent as a Bearer token when set
	Temperature float64
	MaxTokens   int
	// Timeout bounds one call (the request deadline bounds it too).
	Timeout time.Duration
	// Template renders the user message from {{.Prompt}}; nil sends the
	// text as is.
	Template *template.Template
}

// Classifier is one classifiers entry. Unavailable, when set, is reported
// instead of calling anything (e.g. a `type: local` classifier).
type Classifier struct {
	Name         string
	Labels       []string
	Instructions string
	Endpoint     *Endpoint
	Unavailable  error
}

// Family evaluates the classifiers a routing profile's decisions
// reference. It is immutable after construction and safe for concurrent
// use.
type Family struct {
	classifiers []*Classifier
	client      *http.Client
	cache       *Cache
}

// NewFamily returns a family over cs. client and cache may be nil (a
// default client; no caching).
func NewFamily(cs []*Classifier, client *http.Client, cache *Cache) *Family {
	if client == nil {
		client = http.DefaultClient
	}
	return &Family{classifiers: cs, client: client, cache: cache}
}

// Len is the number of classifiers the family runs.
func (f *Family) Len() int { return len(f.classifiers) }

// Evaluate classifies text with every classifier concurrently. Each label
// is reported under "classifier:label" (the chosen label as a Match, the
// others as Scores, see Score) and the chosen label under the classifier's
// name too. Classifiers that fail are joined into the outcome's Err.
func (f *Family) Evaluate(ctx context.Context, text string) signal.Outcome {
	out := signal.Outcome{Family: signal.Classifier}
	answers := make([]Answer, len(f.classifiers))
	errs := make([]error, len(f.classifiers))
	var wg sync.WaitGroup
	for i, c := range f.classifiers {
		wg.Go(func() { answers[i], errs[i] = f.classify(ctx, c, text) })
	}
	wg.Wait()
	for i, c := range f.classifiers {
		if errs[i] != nil {
			out.Err = errors.Join(out.Err, fmt.Errorf("classifier %q: %w", c.Name, errs[i]))
			continue
		}
		Record(&out, c.Name, c.Labels, answers[i])
	}
	return out
}

// Record adds answer a of classifier name to o.
func Record(o *signal.Outcome, name string, labels []string, a Answer) {
	o.Matches = append(o.Matches,
		signal.Match{Family: signal.Classifier, Name: name + ":" + a.Label, Confidence: a.Confidence, Value: a.Confidence},
		signal.Match{Family: signal.Classifier, Name: name, Confidence: a.Confidence, Value: a.Confidence})
	for _, l := range labels {
		if l == a.Label {
			continue
		}
		if o.Scores == nil {
			o.Scores = make(map[string]float64, len(labels))
		}
		o.Scores[name+":"+l] = Score(labels, a, l)
	}
}

func (f *Family) classify(ctx context.Context, c *Classifier, text string) (Answer, error) {
	if c.Unavailable != nil {
		return Answer{}, c.Unavailable
	}
	if f.cache != nil {
		if a, ok := f.cache.Get(c.Name, text); ok {
			return a, nil
		}
	}
	content, err := f.ask(ctx, c, text)
	if err != nil {
		return Answer{}, err
	}
	a, err := Parse(content, c.Labels)
	if err != nil {
		return Answer{}, err
	}
	if f.cache != nil {
		f.cache.Put(c.Name, text, a)
	}
	return a, nil
}

// SystemPrompt is the system message sent for classifier c.
func SystemPrompt(c *Classifier) string {
	var b strings.Builder
	b.WriteString("You label user requests for a request router. ")
	if s := strings.TrimSpace(c.Instructions); s != "" {
		b.WriteString(s)
		b.WriteString("\n\n")
	}
	b.WriteString("Pick exactly one label from: ")
	b.WriteString(strings.Join(c.Labels, ", "))
	b.WriteString(".\nReply with only a JSON object of the form {\"label\": \"<one of the labels>\", \"confidence\": <number between 0 and 1>} and nothing else.")
	return b.String()
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	Temperature float64       `json:"temperature"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
}

type chatResponse struct {
	Choices []struct {
		Message chatMessage `json:"message"`
	} `json:"choices"`
}

func (f *Family) ask(ctx context.Context, c *Classifier, text string) (string, error) {
	e := c.Endpoint
	if e == nil {
		return "", errors.New("no endpoint")
	}
	user := text
	if e.Template != nil {
		var b strings.Builder
		if err := e.Template.Execute(&b, struct{ Prompt string }{text}); err != nil {
			return "", fmt.Errorf("render prompt_template: %w", err)
		}
		user = b.String()
	}
	body, err := json.Marshal(chatRequest{
		Model:       e.Model,
		Messages:    []chatMessage{{Role: "system", Content: SystemPrompt(c)}, {Role: "user", Content: user}},
		Temperature: e.Temperature,
		MaxTokens:   e.MaxTokens,
	})
	if err != nil {
		return "", fmt.Errorf("encode chat request: %w", err)
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build chat request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if e.AccessKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.AccessKey)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("call %s: %w", e.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read answer of %s: %w", e.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("call %s: status %d: %s", e.URL, resp.StatusCode, truncate(strings.TrimSpace(string(data)), 200))
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return "", fmt.Errorf("decode answer of %s: %w", e.URL, err)
	}
	if len(cr.Choices) == 0 {
		return "", fmt.Errorf("answer of %s has no choices", e.URL)
	}
	return cr.Choices[0].Message.Content, nil
}
