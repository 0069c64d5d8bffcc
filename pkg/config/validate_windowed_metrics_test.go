package config

import "testing"

// TestWindowedMetricsValidation: windowed_metrics runs (no "does not act
// on it" warning); its windows, update interval and max_models are
// checked with YAML paths and lines.
func TestWindowedMetricsValidation(t *testing.T) {
	const p = "global.services.observability.metrics.windowed_metrics"
	cases := []struct {
		name  string
		block string
		want  []wantProblem
	}{
		{"reference block is quiet", `{enabled: true, time_windows: [1m, 5m, 1h], update_interval: 30s, model_metrics: true, queue_depth_estimation: true, max_models: 50}`, nil},
		{"defaults are quiet", `{enabled: true, time_windows: [30s]}`, nil},
		{"disabled without windows is quiet", `{enabled: false}`, nil},
		{"enabled without windows", `{enabled: true}`,
			[]wantProblem{{SeverityError, p + ".time_windows", "at least one window is required"}}},
		{"unparsable window", `{enabled: true, time_windows: [1m, soon]}`,
			[]wantProblem{{SeverityError, p + ".time_windows[1]", `duration "soon"`}}},
		{"zero window", `{enabled: true, time_windows: [0s, 1m]}`,
			[]wantProblem{{SeverityError, p + ".time_windows[0]", "must be positive"}}},
		{"negative window", `{enabled: true, time_windows: [-1m]}`,
			[]wantProblem{{SeverityError, p + ".time_windows[0]", "must not be negative"}}},
		{"windows not increasing", `{enabled: true, time_windows: [5m, 1m, 1h, 1h]}`,
			[]wantProblem{{SeverityError, p + ".time_windows[1]", "increasing order"}, {SeverityError, p + ".time_windows[3]", "increasing order"}}},
		{"update interval longer than the smallest window", `{enabled: true, time_windows: [1m, 5m], update_interval: 2m}`,
			[]wantProblem{{SeverityError, p + ".update_interval", "longer than the smallest time window (1m0s)"}}},
		{"zero update interval", `{enabled: true, time_windows: [1m], update_interval: 0s}`,
			[]wantProblem{{SeverityError, p + ".update_interval", "must be positive"}}},
		{"max_models zero", `{enabled: true, time_windows: [1m], max_models: 0}`,
			[]wantProblem{{SeverityError, p + ".max_models", "at least 1"}}},
		{"max_models negative", `{enabled: true, time_windows: [1m], max_models: -3}`,
			[]wantProblem{{SeverityError, p + ".max_models", "at least 1"}}},
		{"a disabled block is still checked", `{enabled: false, time_windows: [1h, 1m]}`,
			[]wantProblem{{SeverityError, p + ".time_windows[1]", "increasing order"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  services:\n    observability:\n      metrics:\n        windowed_metrics: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "windowed-metrics", p, tc.want, 0)
		})
	}
	t.Run("metrics disabled", func(t *testing.T) {
		doc := invalidBase + "global:\n  services:\n    observability:\n      metrics:\n        enabled: false\n        windowed_metrics: {enabled: true, time_windows: [1m]}\n"
		checkProblemsUnder(t, doc, "windowed-metrics", p, []wantProblem{{SeverityWarning, p + ".enabled", "metrics.enabled is false"}}, 0)
	})
}
