package config

import (
	"net/url"
	"sort"
	"strings"
)

// Image generation backends (plugins[type=image_gen].configuration.backend).
const (
	ImageGenBackendOpenAI    = "openai"
	ImageGenBackendVLLMOmni  = "vllm_omni"
	imageGenSizeMultiple     = 8
	imageGenMaxSide          = 4096
	imageGenMaxTimeoutSecond = 3600
)

// imageGenKeys are the backend_config keys of each image_gen backend
// (services/gateway-extproc/imagegen documents what they do).
func imageGenKeys(backend string) []string {
	switch backend {
	case ImageGenBackendOpenAI:
		return []string{"api_key", "base_url", "model", "quality", "style", "response_format", "timeout_seconds"}
	case ImageGenBackendVLLMOmni:
		return []string{"api_key", "base_url", "model", "num_inference_steps", "cfg_scale", "guidance_scale",
			"seed", "negative_prompt", "timeout_seconds"}
	}
	return nil
}

func (v *validator) validateImageGenPlugin(cp string, c *ImageGenPlugin) {
	bp := sub(cp, "backend")
	switch c.Backend {
	case "":
		if c.Enabled {
			v.errorf(bp, "required when the plugin is enabled (expected one of %s, %s)", ImageGenBackendOpenAI, ImageGenBackendVLLMOmni)
		}
	case ImageGenBackendOpenAI, ImageGenBackendVLLMOmni:
		v.validateImageGenBackendConfig(sub(cp, "backend_config"), c)
	default:
		v.errorf(bp, "unknown backend %q (expected one of %s, %s)", c.Backend, ImageGenBackendOpenAI, ImageGenBackendVLLMOmni)
	}
	for _, side := range []struct {
		key string
		n   int
	}{{"default_width", c.DefaultWidth}, {"default_height", c.DefaultHeight}} {
		switch {
		case side.n < 0:
			v.errorf(sub(cp, side.key), "%s must be positive, got %d", side.key, side.n)
		case side.n > imageGenMaxSide:
			v.errorf(sub(cp, side.key), "%s must be at most %d, got %d", side.key, imageGenMaxSide, side.n)
		case side.n%imageGenSizeMultiple != 0:
			v.errorf(sub(cp, side.key), "%s must be a multiple of %d (image backends work in 8-pixel blocks), got %d",
				side.key, imageGenSizeMultiple, side.n)
		}
	}
	if c.MaxInferenceSteps < 0 {
		v.errorf(sub(cp, "max_inference_steps"), "max_inference_steps must be at least 1, got %d", c.MaxInferenceSteps)
	}
	if c.TimeoutSeconds < 0 || c.TimeoutSeconds > imageGenMaxTimeoutSecond {
		v.errorf(sub(cp, "timeout_seconds"), "timeout_seconds must be between 0 (default) and %d, got %d", imageGenMaxTimeoutSecond, c.TimeoutSeconds)
	}
	if md := c.ModalityDetection; md != nil {
		v.checkOneOf(sub(cp, "modality_detection.method"), strings.ToLower(md.Method), "keyword", "classifier", "hybrid")
		v.checkUnit(sub(cp, "modality_detection.confidence_threshold"), md.ConfidenceThreshold)
		v.checkUnit(sub(cp, "modality_detection.lower_threshold_ratio"), md.LowerThresholdRatio)
	}
}

func (v *validator) validateImageGenBackendConfig(bp string, c *ImageGenPlugin) {
	bc := c.BackendConfig
	str := func(k string) string {
		val, ok := bc[k]
		if !ok || val == nil {
			return ""
		}
		s, ok := val.(string)
		if !ok {
			v.errorf(sub(bp, k), "expected a string, got %s", describeValue(val))
			return ""
		}
		return strings.TrimSpace(s)
	}
	num := func(k string) (float64, bool) {
		val, ok := bc[k]
		if !ok || val == nil {
			return 0, false
		}
		switch n := val.(type) {
		case int:
			return float64(n), true
		case float64:
			return n, true
		}
		v.errorf(sub(bp, k), "expected a number, got %s", describeValue(val))
		return 0, false
	}
	base := str("base_url")
	switch {
	case base == "" && c.Backend == ImageGenBackendVLLMOmni:
		v.errorf(sub(bp, "base_url"), "required for backend vllm_omni")
	case base != "":
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(sub(bp, "base_url"), "%q is not an http(s) URL", base)
		}
	}
	str("api_key")
	str("model")
	str("negative_prompt")
	switch c.Backend {
	case ImageGenBackendOpenAI:
		v.checkOneOf(sub(bp, "quality"), str("quality"), "auto", "standard", "hd", "low", "medium", "high")
		v.checkOneOf(sub(bp, "style"), str("style"), "vivid", "natural")
		v.checkOneOf(sub(bp, "response_format"), str("response_format"), "b64_json", "url")
	case ImageGenBackendVLLMOmni:
		if n, ok := num("num_inference_steps"); ok {
			switch {
			case n < 1 || n != float64(int(n)):
				v.errorf(sub(bp, "num_inference_steps"), "num_inference_steps must be a whole number of at least 1, got %s", formatFloat(n))
			case c.MaxInferenceSteps > 0 && int(n) > c.MaxInferenceSteps:
				v.warnf(sub(bp, "num_inference_steps"), "%d is above max_inference_steps %d; %d steps are requested", int(n), c.MaxInferenceSteps, c.MaxInferenceSteps)
			}
		}
		for _, k := range []string{"cfg_scale", "guidance_scale"} {
			if n, ok := num(k); ok && n < 0 {
				v.errorf(sub(bp, k), "%s must not be negative, got %s", k, formatFloat(n))
			}
		}
		if n, ok := num("seed"); ok && (n < 0 || n != float64(int64(n))) {
			v.errorf(sub(bp, "seed"), "seed must be a whole number ≥ 0, got %s", formatFloat(n))
		}
	}
	if n, ok := num("timeout_seconds"); ok && (n < 0 || n > imageGenMaxTimeoutSecond) {
		v.errorf(sub(bp, "timeout_seconds"), "timeout_seconds must be between 0 (default) and %d, got %s", imageGenMaxTimeoutSecond, formatFloat(n))
	}
	known := imageGenKeys(c.Backend)
	var unknown []string
	for k := range bc {
		if !containsString(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		v.warnf(sub(bp, k), "not a backend_config key of backend %s; it has no effect (known: %s)", c.Backend, strings.Join(known, ", "))
	}
}
