package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// switchBound is how fast every service must be serving a pushed config
// revision (the project's hot-reload objective).
const switchBound = 2 * time.Second

// phaseAfterFault is the least time the load keeps running after a fault.
const phaseAfterFault = 2 * time.Second

// mixedPrompts exercise every stage: embedding, keyword, domain and default.
var mixedPrompts = []string{
	"How do I install this package?",
	"Please debug this function for me",
	"What is the derivative of x squared plus 3x?",
	"Tell me a nice story about a cat",
}

// TestFaultsUnderLoad keeps 12 concurrent OpenAI SDK clients busy while
// components fail (with two cache replicas when the cache binary builds): one of two embedder replicas is killed, the classifier
// is killed and restarted, an invalid and then a valid config are pushed
// through config-hub's management API, and an upstream answers 500. No
// client request may fail in any phase.
func TestFaultsUnderLoad(t *testing.T) {
	s := startSystem(t, systemOptions{embedders: 2, cache: true})
	ctx := testContext(t, 4*time.Minute)
	c := s.client()
	phase := func(prompts []string, check func(string, answer) error) *load {
		return startLoad(t, c, loadOptions{clients: 12, maxPerClient: 400, phase: 2 * time.Minute, prompts: prompts, check: check})
	}

	t.Run("embedder replica killed", func(t *testing.T) {
		l := phase(mixedPrompts, nil)
		l.waitMore(40, 0, "load before the kill")
		s.embedders[0].kill()
		l.waitMore(60, phaseAfterFault, "load after the kill")
		l.requireNoFailures("embedder replica killed")
		// The surviving replica serves the embedding route on its own.
		waitFor(t, 30*time.Second, "embedding route served by the surviving replica", func() error {
			return expectRoute(ctx, c, "How do I install this package?", "setup-helper")
		}, s.embedders[1])
		s.embedders[0].restart()
		waitFor(t, readyTimeout, "restarted embedder healthz", httpOK("http://"+s.embedHTTP[0]+"/healthz"), s.embedders[0])
	})

	t.Run("classifier killed then restarted", func(t *testing.T) {
		l := phase(mixedPrompts, nil)
		l.waitMore(30, 0, "load before the kill")
		s.classifier.kill()
		waitFor(t, 2*time.Minute, "answers degraded without the classifier", func() error {
			if n := l.degradedCount("classifier"); n < 20 {
				return fmt.Errorf("%d answers marked x-vsr-degraded: classifier", n)
			}
			return nil
		})
		// While it is down a coding prompt still gets an answer (from the
		// default model) and says the classifier stage is missing.
		a, err := chat(ctx, c, "Please debug this function for me")
		if err != nil {
			t.Fatalf("request without classifier: %v", err)
		}
		if !strings.Contains(a.header.Get("x-vsr-degraded"), "classifier") || a.header.Get("x-vsr-selected-model") != "small-chat" {
			t.Errorf("without classifier: degraded %q model %q, want classifier / small-chat (the default)",
				a.header.Get("x-vsr-degraded"), a.header.Get("x-vsr-selected-model"))
		}
		s.classifier.restart()
		s.waitClassifier()
		waitFor(t, 30*time.Second, "routing recovered after the classifier restart", func() error {
			return expectRoute(ctx, c, "Please debug this function for me", "code-expert")
		}, s.classifier)
		l.waitMore(30, phaseAfterFault, "load after the restart")
		l.requireNoFailures("classifier killed then restarted")
	})

	t.Run("invalid config rejected, traffic unaffected", func(t *testing.T) {
		l := phase(mixedPrompts, nil)
		l.waitMore(20, 0, "load before the push")
		rev := s.activeRevision()
		bad := bytes.Replace(renderConfig(t, s.params), []byte("default_model: small-chat"), []byte("default_model: ghost-model"), 1)
		status, body := s.putConfig(t, bad, rev)
		if status != http.StatusBadRequest {
			t.Fatalf("PUT invalid config: %d %s, want 400", status, body)
		}
		var problems struct {
			Error    string `json:"error"`
			Problems []struct {
				Path string `json:"path"`
				Line int    `json:"line"`
			} `json:"problems"`
		}
		if err := json.Unmarshal(body, &problems); err != nil || len(problems.Problems) == 0 ||
			problems.Problems[0].Path != "providers.defaults.default_model" || problems.Problems[0].Line == 0 {
			t.Errorf("400 body = %s, want the problem at providers.defaults.default_model with its line", body)
		}
		if got := s.activeRevision(); got != rev {
			t.Errorf("active revision moved from %d to %d after a rejected push", rev, got)
		}
		l.waitMore(20, phaseAfterFault, "load after the push")
		l.requireNoFailures("invalid config push")
		if err := expectRoute(ctx, c, "Please debug this function for me", "code-expert"); err != nil {
			t.Errorf("routing after the rejected push: %v", err)
		}
	})

	t.Run("valid config switches every service", func(t *testing.T) {
		if err := expectRoute(ctx, c, "Tell me about the zebra", "small-chat"); err != nil {
			t.Fatalf("before the push: %v", err)
		}
		l := phase(mixedPrompts, nil)
		l.waitMore(20, 0, "load before the push")
		v2 := s.params
		v2.V2 = true
		pushed := time.Now()
		status, body := s.putConfig(t, renderConfig(t, v2), s.activeRevision())
		if status != http.StatusOK {
			t.Fatalf("PUT valid config: %d %s", status, body)
		}
		var pub struct {
			Revision uint64 `json:"revision"`
			Changed  bool   `json:"changed"`
		}
		if err := json.Unmarshal(body, &pub); err != nil || !pub.Changed {
			t.Fatalf("PUT answer %s: want a changed revision", body)
		}
		var routed, reported time.Duration
		waitFor(t, 30*time.Second, "routing switched to revision "+strconv.FormatUint(pub.Revision, 10), func() error {
			if err := expectRoute(ctx, c, "Tell me about the zebra", "code-expert-v2"); err != nil {
				return err
			}
			routed = time.Since(pushed)
			return nil
		})
		waitFor(t, 30*time.Second, "every service reports the new revision", func() error {
			seen := map[string]bool{}
			for _, st := range s.statusesFor(pub.Revision) {
				if !st.Accepted {
					return fmt.Errorf("%s/%s rejected revision %d: %s", st.Service, st.Instance, pub.Revision, st.Error)
				}
				seen[st.Service] = true
				seen[st.Service+"/"+st.Instance] = true
			}
			want := []string{"config-hub", "classifier", "gateway"}
			for _, c := range s.caches {
				want = append(want, "cache/"+c.name)
			}
			for _, svc := range want {
				if !seen[svc] {
					return fmt.Errorf("no accepted status from %s yet (have %v)", svc, seen)
				}
			}
			reported = time.Since(pushed)
			return nil
		})
		t.Logf("revision %d: routing switched %v and every service reported %v after the PUT", pub.Revision, routed, reported)
		if routed > switchBound || reported > switchBound {
			t.Errorf("switch took %v (routing) / %v (status reports), want within %v", routed, reported, switchBound)
		}
		a, err := chat(ctx, c, "Tell me about the zebra")
		if err != nil {
			t.Fatal(err)
		}
		if want := "[llm-b/code-expert-v2] You said: Tell me about the zebra"; a.content != want {
			t.Errorf("answer after the switch = %q, want %q", a.content, want)
		}
		l.waitMore(20, phaseAfterFault, "load after the push")
		l.requireNoFailures("valid config push")
	})

	t.Run("upstream 500 fails over to the next model", func(t *testing.T) {
		prompts := []string{"flaky-route: summarise the news", "please answer via flaky-route"}
		l := phase(prompts, func(prompt string, a answer) error {
			if d := a.header.Get("x-vsr-selected-decision"); d != "failover" {
				return fmt.Errorf("decision %q, want failover (first modelRef flaky-model)", d)
			}
			if m := a.header.Get("x-vsr-selected-model"); m != "small-chat" {
				return fmt.Errorf("served by %q, want small-chat after flaky-model failed", m)
			}
			if want := "[llm-a/small-chat] You said: " + prompt; a.content != want {
				return fmt.Errorf("answer %q, want %q", a.content, want)
			}
			return nil
		})
		l.waitMore(60, phaseAfterFault, "failover load")
		_, models := l.requireNoFailures("upstream 500")
		if models["small-chat"] == 0 {
			t.Errorf("no request was served by the failover model: %v", models)
		}
	})
}

// expectRoute sends prompt and wants it answered by model without a
// degraded classifier or embedder stage.
func expectRoute(ctx context.Context, c openai.Client, prompt, model string) error {
	a, err := chat(ctx, c, prompt)
	if err != nil {
		return err
	}
	if got := a.header.Get("x-vsr-selected-model"); got != model {
		return fmt.Errorf("%q routed to %q (degraded %q), want %q", prompt, got, a.header.Get("x-vsr-degraded"), model)
	}
	if d := a.header.Get("x-vsr-degraded"); strings.Contains(d, "classifier") || strings.Contains(d, "embedder") {
		return fmt.Errorf("%q: x-vsr-degraded = %q", prompt, d)
	}
	return nil
}

// activeRevision asks config-hub for the active revision.
func (s *system) activeRevision() uint64 {
	s.t.Helper()
	resp, err := http.Get("http://" + s.hubAddr + "/config/hash")
	if err != nil {
		s.t.Fatalf("GET /config/hash: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Revision uint64 `json:"revision"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /config/hash: %d %v", resp.StatusCode, err)
	}
	return out.Revision
}

// putConfig replaces the config through the management API, naming the
// revision it replaces in If-Match.
func (s *system) putConfig(t *testing.T, doc []byte, rev uint64) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "http://"+s.hubAddr+"/config/router", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/yaml")
	req.Header.Set("If-Match", strconv.Quote(strconv.FormatUint(rev, 10)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT /config/router: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestClassifierStartedBeforeEmbedder starts the classifier before any
// embedder replica (compose starts them in no particular order) and wants
// the embedding rule to match once an embedder is up.
func TestClassifierStartedBeforeEmbedder(t *testing.T) {
	s := startSystem(t, systemOptions{embedders: 1, classifierFirst: true})
	ctx := testContext(t, 2*time.Minute)
	c := s.client()
	recovered := poll(15*time.Second, func() error {
		return expectRoute(ctx, c, "How do I install this package?", "setup-helper")
	}, s.classifier)
	if recovered != nil {
		t.Fatalf("the embedding rule never matched after an embedder came up: %v", recovered)
	}
}
