package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report holds the figures of one run.
type Report struct {
	Config              string
	Requests            int
	Concurrency         int
	Duration            time.Duration
	Samples             int
	KeepCache           bool
	DroppedCachePlugins int
	// EmbedModel is the model the embedder answered with.
	EmbedModel string
	Machine    Machine
	Sequential sequentialSummary
	Load       loadSummary
	At         time.Time
}

// Machine describes where the run happened.
type Machine struct {
	CPUs                  int
	CPUModel              string
	GoVersion             string
	LoadBefore, LoadAfter string
}

// phase is one closed-loop side.
type phase struct {
	Count    int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// Throughput is completed requests per second.
func (p phase) Throughput() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Count) / p.Elapsed.Seconds()
}

// routedCounts are routed answers that did not take the plain path.
type routedCounts struct {
	Degraded    int // carried x-vsr-degraded
	NotUpstream int // answered without the backend (cache hit, fast response)
}

type loadSummary struct {
	Direct, Routed phase
	RoutedCounts   routedCounts
}

// sequentialResult collects the one-at-a-time triples.
type sequentialResult struct {
	direct, routed, embed, added []time.Duration
}

type sequentialSummary struct {
	Count                int
	DirectP50, DirectP99 time.Duration
	RoutedP50, RoutedP99 time.Duration
	AddedP50, AddedP99   time.Duration // per request: routed − direct of the same prompt
	EmbedP50, EmbedP99   time.Duration
	RoutedCounts         routedCounts
}

func (s sequentialResult) summary(c routedCounts) sequentialSummary {
	return sequentialSummary{
		Count:     len(s.direct),
		DirectP50: quantile(s.direct, 0.5), DirectP99: quantile(s.direct, 0.99),
		RoutedP50: quantile(s.routed, 0.5), RoutedP99: quantile(s.routed, 0.99),
		AddedP50: quantile(s.added, 0.5), AddedP99: quantile(s.added, 0.99),
		EmbedP50: quantile(s.embed, 0.5), EmbedP99: quantile(s.embed, 0.99),
		RoutedCounts: c,
	}
}

// EmbedRatio is the p50 added latency over the p50 embed time.
func (s sequentialSummary) EmbedRatio() float64 {
	if s.EmbedP50 <= 0 {
		return 0
	}
	return float64(s.AddedP50) / float64(s.EmbedP50)
}

// quantile returns the q-quantile (nearest rank) of ds without changing it.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Section markers: UpdateSection replaces what lies between them and
// leaves the rest of the "End to end" section (notes) alone.
const (
	markBegin = "<!-- semrouter bench e2e: begin (generated) -->"
	markEnd   = "<!-- semrouter bench e2e: end -->"
	heading   = "## End to end"
)

// Markdown renders the generated block (without the section heading).
func (r *Report) Markdown() string {
	var b strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(&b, "%s\n", markBegin)
	fmt.Fprintf(&b, "Run of %s: `%s`, %d requests or %v per closed-loop side at concurrency %d, %d sequential samples",
		r.At.UTC().Format("2006-01-02 15:04 MST"), displayPath(r.Config), r.Requests, r.Duration, r.Concurrency, r.Samples)
	if r.KeepCache {
		fmt.Fprintf(&b, ", response cache kept")
	} else {
		fmt.Fprintf(&b, ", %d response_cache plugins dropped", r.DroppedCachePlugins)
	}
	fmt.Fprintf(&b, ".\nMachine: %d CPUs (%s), %s, load average before %s, after %s.\n\n",
		r.Machine.CPUs, r.Machine.CPUModel, r.Machine.GoVersion, r.Machine.LoadBefore, r.Machine.LoadAfter)

	s := r.Sequential
	fmt.Fprintf(&b, "One request at a time (%d samples; each sample = a direct call, a routed call and an embed call of the same prompt):\n\n", s.Count)
	fmt.Fprintf(&b, "| | p50 | p99 |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| direct to devllm | %s | %s |\n", ms(s.DirectP50), ms(s.DirectP99))
	fmt.Fprintf(&b, "| routed (`model: auto`) | %s | %s |\n", ms(s.RoutedP50), ms(s.RoutedP99))
	fmt.Fprintf(&b, "| **added** (routed − direct, per sample) | **%s** | **%s** |\n", ms(s.AddedP50), ms(s.AddedP99))
	fmt.Fprintf(&b, "| embed one prompt (`%s`, embedding client over NATS) | %s | %s |\n", r.EmbedModel, ms(s.EmbedP50), ms(s.EmbedP99))
	fmt.Fprintf(&b, "\n**p50 added / p50 embed = %.2f×** (target ≤ 1.3×). Routed answers degraded: %d, not from the backend: %d.\n\n",
		s.EmbedRatio(), s.RoutedCounts.Degraded, s.RoutedCounts.NotUpstream)

	l := r.Load
	fmt.Fprintf(&b, "Closed loop, concurrency %d:\n\n", r.Concurrency)
	fmt.Fprintf(&b, "| path | requests | throughput | p50 | p99 |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| direct to devllm | %d in %.2f s | %.0f req/s | %s | %s |\n", l.Direct.Count, l.Direct.Elapsed.Seconds(), l.Direct.Throughput(), ms(l.Direct.P50), ms(l.Direct.P99))
	fmt.Fprintf(&b, "| routed (`model: auto`) | %d in %.2f s | %.0f req/s | %s | %s |\n", l.Routed.Count, l.Routed.Elapsed.Seconds(), l.Routed.Throughput(), ms(l.Routed.P50), ms(l.Routed.P99))
	fmt.Fprintf(&b, "| **added** (routed − direct, per quantile) | | | **%s** | **%s** |\n", ms(l.Routed.P50-l.Direct.P50), ms(l.Routed.P99-l.Direct.P99))
	fmt.Fprintf(&b, "\nRouted answers degraded: %d, not from the backend: %d.\n", l.RoutedCounts.Degraded, l.RoutedCounts.NotUpstream)
	fmt.Fprintf(&b, "%s\n", markEnd)
	return b.String()
}

// UpdateSection puts block into the "End to end" section of doc: between
// the markers when they exist, else as the body of the section (replacing
// it), else as a new section at the end.
func UpdateSection(doc []byte, block string) []byte {
	s := string(doc)
	if i := strings.Index(s, markBegin); i >= 0 {
		if j := strings.Index(s[i:], markEnd); j >= 0 {
			end := i + j + len(markEnd)
			if end < len(s) && s[end] == '\n' {
				end++
			}
			return []byte(s[:i] + block + s[end:])
		}
	}
	if i := sectionStart(s); i >= 0 {
		body := i + len(heading)
		end := len(s)
		if j := strings.Index(s[body:], "\n## "); j >= 0 {
			end = body + j + 1
		}
		tail := s[end:]
		sep := ""
		if tail != "" {
			sep = "\n"
		}
		return []byte(s[:body] + "\n\n" + block + sep + tail)
	}
	var b bytes.Buffer
	b.WriteString(strings.TrimRight(s, "\n"))
	if b.Len() > 0 {
		b.WriteString("\n\n")
	}
	b.WriteString(heading + "\n\n" + block)
	return b.Bytes()
}

// sectionStart finds the "## End to end" heading at the start of a line.
func sectionStart(s string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], heading)
		if j < 0 {
			return -1
		}
		at := i + j
		after := at + len(heading)
		if (at == 0 || s[at-1] == '\n') && (after == len(s) || s[after] == '\n') {
			return at
		}
		i = after
	}
}

// WriteSection updates the file at path (created when missing).
func WriteSection(path, block string) error {
	doc, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.WriteFile(path, UpdateSection(doc, block), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: "unknown CPU"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// loadAverage is the 1, 5 and 15 minute load average ("n/a" off Linux).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " / ")
}

// displayPath shortens a path inside the checkout to its relative form.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	root, err := repoRoot(wd)
	if err != nil {
		return p
	}
	if rel, ok := strings.CutPrefix(p, root+string(os.PathSeparator)); ok {
		return rel
	}
	return p
}
