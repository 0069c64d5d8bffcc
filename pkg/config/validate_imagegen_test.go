package config

import "testing"

// TestImageGenPluginValidation: the image_gen plugin runs (both
// backends), so it carries no "does not run it yet" warning; its fields
// are checked with YAML paths.
func TestImageGenPluginValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	cases := []pluginCase{
		{"openai reference shape is quiet", `{type: image_gen, configuration: {enabled: true, backend: openai, backend_config: {api_key: k, base_url: "https://api.openai.com/v1", model: gpt-image-1, quality: hd, style: vivid}, modality_detection: {method: hybrid, keywords: [draw], confidence_threshold: 0.7, lower_threshold_ratio: 0.7}, default_width: 1024, default_height: 1024, max_inference_steps: 30, timeout_seconds: 60}}`, nil},
		{"vllm_omni reference shape is quiet", `{type: image_gen, configuration: {enabled: true, backend: vllm_omni, backend_config: {base_url: "http://image-router:8005", model: Qwen/Qwen-Image, num_inference_steps: 28, cfg_scale: 4.5, seed: 42}, default_width: 1024, default_height: 1024, max_inference_steps: 28, timeout_seconds: 90}}`, nil},
		{"backend required", `{type: image_gen, configuration: {enabled: true}}`,
			[]want{{SeverityError, cp + ".backend", "required when the plugin is enabled"}}},
		{"unknown backend", `{type: image_gen, configuration: {enabled: true, backend: dalle}}`,
			[]want{{SeverityError, cp + ".backend", `unknown backend "dalle" (expected one of openai, vllm_omni)`}}},
		{"vllm_omni needs base_url", `{type: image_gen, configuration: {enabled: true, backend: vllm_omni}}`,
			[]want{{SeverityError, cp + ".backend_config.base_url", "required for backend vllm_omni"}}},
		{"sizes, steps and timeout", `{type: image_gen, configuration: {enabled: true, backend: openai, default_width: 1020, default_height: -8, max_inference_steps: -1, timeout_seconds: -2}}`,
			[]want{{SeverityError, cp + ".default_width", "multiple of 8"},
				{SeverityError, cp + ".default_height", "must be positive"},
				{SeverityError, cp + ".max_inference_steps", "at least 1"},
				{SeverityError, cp + ".timeout_seconds", "between 0 (default) and 3600"}}},
		{"too large", `{type: image_gen, configuration: {enabled: true, backend: openai, default_width: 8192}}`,
			[]want{{SeverityError, cp + ".default_width", "at most 4096"}}},
		{"openai bad fields", `{type: image_gen, configuration: {enabled: true, backend: openai, backend_config: {base_url: "ftp://x", quality: ultra, style: noir, response_format: gif, api_key: 7, seed: 1}}}`,
			[]want{{SeverityError, cp + ".backend_config.base_url", "not an http(s) URL"},
				{SeverityError, cp + ".backend_config.api_key", "expected a string"},
				{SeverityError, cp + ".backend_config.quality", `unknown quality "ultra"`},
				{SeverityError, cp + ".backend_config.style", `unknown style "noir"`},
				{SeverityError, cp + ".backend_config.response_format", `unknown response_format "gif"`},
				{SeverityWarning, cp + ".backend_config.seed", "not a backend_config key of backend openai"}}},
		{"vllm_omni bad numbers", `{type: image_gen, configuration: {enabled: true, backend: vllm_omni, max_inference_steps: 20, backend_config: {base_url: "http://x", num_inference_steps: 0.5, cfg_scale: -1, seed: many}}}`,
			[]want{{SeverityError, cp + ".backend_config.num_inference_steps", "whole number of at least 1"},
				{SeverityError, cp + ".backend_config.cfg_scale", "must not be negative"},
				{SeverityError, cp + ".backend_config.seed", "expected a number"}}},
		{"steps above the cap", `{type: image_gen, configuration: {enabled: true, backend: vllm_omni, max_inference_steps: 20, backend_config: {base_url: "http://x", num_inference_steps: 50}}}`,
			[]want{{SeverityWarning, cp + ".backend_config.num_inference_steps", "above max_inference_steps 20; 20 steps are requested"}}},
		{"modality method", `{type: image_gen, configuration: {enabled: true, backend: openai, modality_detection: {method: magic, confidence_threshold: 2}}}`,
			[]want{{SeverityError, cp + ".modality_detection.method", `unknown method "magic"`},
				{SeverityError, cp + ".modality_detection.confidence_threshold", "between 0 and 1"}}},
	}
	runPluginCases(t, "image_gen", cases, nil)
}
