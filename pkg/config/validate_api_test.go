package config

import "testing"

// TestAPIServiceValidation: global.services.api.batch_classification is
// served (no "does not act on it" warning); bad values are errors, values
// without effect warnings, each at its YAML path with a line.
func TestAPIServiceValidation(t *testing.T) {
	const bc = "global.services.api.batch_classification"
	const m = bc + ".metrics"
	type want = wantProblem
	cases := []struct {
		name  string
		block string
		want  []want
	}{
		{"defaults are quiet", `{}`, nil},
		{"upstream values are quiet", `{max_batch_size: 100, concurrency_threshold: 5, max_concurrency: 8, metrics: {enabled: true, sample_rate: 1.0,
			batch_size_ranges: [{min: 1, max: 4, label: tiny}, {min: 5, max: 16, label: standard}], duration_buckets: [0.01, 0.05, 0.1],
			size_buckets: [1, 4, 16], detailed_goroutine_tracking: true}}`, nil},
		{"negative sizes", `{max_batch_size: -1, concurrency_threshold: -2, max_concurrency: -3}`,
			[]want{{SeverityError, bc + ".max_batch_size", "must not be negative"}, {SeverityError, bc + ".concurrency_threshold", "must not be negative"},
				{SeverityError, bc + ".max_concurrency", "must be at least 1"}}},
		{"threshold at the limit never fans out", `{max_batch_size: 10, concurrency_threshold: 10}`,
			[]want{{SeverityWarning, bc + ".concurrency_threshold", "is not below max_batch_size (10): batches never fan out"}}},
		{"sample rate outside [0,1]", `{metrics: {enabled: true, sample_rate: 1.5}}`,
			[]want{{SeverityError, m + ".sample_rate", "sample_rate must be between 0 and 1, got 1.5"}}},
		{"buckets not increasing", `{metrics: {duration_buckets: [0.1, 0.1, 0.5], size_buckets: [8, 4, -1]}}`,
			[]want{{SeverityError, m + ".duration_buckets[1]", "buckets must increase strictly: 0.1 follows 0.1"},
				{SeverityError, m + ".size_buckets[1]", "buckets must increase strictly: 4 follows 8"},
				{SeverityError, m + ".size_buckets[2]", "bucket bound must not be negative, got -1"}}},
		{"bad ranges", `{metrics: {batch_size_ranges: [{min: 5, max: 2, label: a}, {min: -1, max: 3, label: b}, {min: 1, max: 1}, {min: 4, max: 9, label: c}]}}`,
			[]want{{SeverityError, m + ".batch_size_ranges[0].max", "max 2 is below min 5"},
				{SeverityError, m + ".batch_size_ranges[1].min", "must not be negative"},
				{SeverityError, m + ".batch_size_ranges[2].label", "required"}}},
		{"overlapping ranges and repeated label", `{metrics: {batch_size_ranges: [{min: 1, max: 4, label: small}, {min: 10, max: 20, label: big}, {min: 4, max: 8, label: small}]}}`,
			[]want{{SeverityError, m + ".batch_size_ranges[2]", "range 4-8 overlaps " + m + ".batch_size_ranges[0] (1-4)"},
				{SeverityError, m + ".batch_size_ranges[2].label", `label "small" is already used by ` + m + ".batch_size_ranges[0]"}}},
		{"high resolution timing has no effect", `{metrics: {enabled: true, high_resolution_timing: true}}`,
			[]want{{SeverityWarning, m + ".high_resolution_timing", "has no effect"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  services:\n    api:\n      batch_classification: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "api.yaml", "global.services.api", tc.want, 0)
		})
	}
}
