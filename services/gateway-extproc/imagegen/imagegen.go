// Package imagegen runs the v0.3 decision plugin `image_gen`: a chat
// request that a decision with this plugin routes, and that asks for an
// image, is answered by an image generation backend instead of a chat
// model. The client gets an ordinary chat.completion (or its SSE stream)
// whose assistant message holds the image as a markdown image (a data:
// URL for base64 answers, or the URL the backend returned) and, for
// clients that read it, as a structured part in message.images.
//
// Backends (both speak the OpenAI Images API, POST
// {base_url}/v1/images/generations):
//
//   - openai: model, prompt, n=1, size, quality, style, response_format
//     (b64_json unless backend_config.response_format is url; gpt-image
//     models always answer b64_json and get no response_format). The key
//     is backend_config.api_key, else the environment variable
//     OPENAI_API_KEY; it is sent as a bearer token and never logged.
//   - vllm_omni: the vLLM-Omni images endpoint: model, prompt, n=1, size,
//     response_format b64_json, and its extension fields
//     num_inference_steps (capped by max_inference_steps), seed,
//     true_cfg_scale (from cfg_scale), guidance_scale and negative_prompt.
//
// The prompt is the last user turn's text, with one leading request
// phrase removed ("draw", "generate an image of", "create a picture of",
// "please make an image showing", …) so the backend gets the subject. The
// size is default_width×default_height (1024×1024 when unset), unless the
// prompt names one: an explicit "WxH" (e.g. 1024x768, each side 64–4096,
// rounded down to a multiple of 8), or the words square, portrait
// (3:4 of the default's long side) or landscape (4:3).
package imagegen

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// Backend names of plugins[type=image_gen].configuration.backend.
const (
	BackendOpenAI   = config.ImageGenBackendOpenAI
	BackendVLLMOmni = config.ImageGenBackendVLLMOmni
)

// Defaults used when the configuration leaves a field unset.
const (
	DefaultSide    = 1024
	DefaultTimeout = 60 * time.Second
	// DefaultOpenAIBaseURL is the openai backend's base_url when unset.
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	// MaxImageBytes bounds the backend answer the gateway reads.
	MaxImageBytes = 32 << 20
)

// ErrBackend marks a generation that failed: transport, status or body.
var ErrBackend = errors.New("image backend")

// Options are the process-wide parts a Plugin uses.
type Options struct {
	// HTTP is the client for the backends (nil: a new one).
	HTTP *http.Client
	// Getenv reads OPENAI_API_KEY for an openai backend without api_key
	// (nil: no environment fallback).
	Getenv func(string) string
}

// Plugin is a compiled image_gen plugin. It is immutable and safe for
// concurrent use.
type Plugin struct {
	backend  string
	endpoint string // full images/generations URL
	apiKey   string
	model    string
	// openai
	quality, style, responseFormat string
	// vllm_omni
	steps          int
	cfgScale       *float64
	guidanceScale  *float64
	seed           *int64
	negativePrompt string

	width, height int
	timeout       time.Duration
	detect        detection
	http          *http.Client
}

// Backend is the configured backend name (metrics label).
func (p *Plugin) Backend() string { return p.backend }

// Endpoint is the URL the plugin posts to.
func (p *Plugin) Endpoint() string { return p.endpoint }

// Timeout is the time bound of one generation.
func (p *Plugin) Timeout() time.Duration { return p.timeout }

// Model is the backend model name ("" when the configuration names none).
func (p *Plugin) Model() string { return p.model }

// Compile checks and compiles an image_gen plugin configuration. A
// disabled plugin compiles to nil.
func Compile(c *config.ImageGenPlugin, o Options) (*Plugin, error) {
	if c == nil || !c.Enabled {
		return nil, nil
	}
	p := &Plugin{backend: c.Backend, width: c.DefaultWidth, height: c.DefaultHeight, http: o.HTTP}
	if p.http == nil {
		p.http = &http.Client{}
	}
	if p.width <= 0 {
		p.width = DefaultSide
	}
	if p.height <= 0 {
		p.height = DefaultSide
	}
	bc := fields(c.BackendConfig)
	var errs []error
	str := func(k string) string {
		s, err := bc.str(k)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	base := str("base_url")
	p.apiKey, p.model = str("api_key"), str("model")
	switch c.Backend {
	case BackendOpenAI:
		if base == "" {
			base = DefaultOpenAIBaseURL
		}
		if p.apiKey == "" && o.Getenv != nil {
			p.apiKey = strings.TrimSpace(o.Getenv("OPENAI_API_KEY"))
		}
		p.quality, p.style, p.responseFormat = str("quality"), str("style"), str("response_format")
		if p.responseFormat == "" && !strings.HasPrefix(strings.ToLower(p.model), "gpt-image") {
			p.responseFormat = "b64_json"
		}
	case BackendVLLMOmni:
		if base == "" {
			errs = append(errs, errors.New("backend_config.base_url: required for backend vllm_omni"))
		}
		p.responseFormat = "b64_json"
		p.negativePrompt = str("negative_prompt")
		if n, ok, err := bc.num("num_inference_steps"); err != nil {
			errs = append(errs, err)
		} else if ok {
			p.steps = int(n)
		}
		if c.MaxInferenceSteps > 0 && p.steps > c.MaxInferenceSteps {
			p.steps = c.MaxInferenceSteps // unset stays unset: the model's default
		}
		for _, f := range []struct {
			key string
			dst **float64
		}{{"cfg_scale", &p.cfgScale}, {"guidance_scale", &p.guidanceScale}} {
			if n, ok, err := bc.num(f.key); err != nil {
				errs = append(errs, err)
			} else if ok {
				*f.dst = &n
			}
		}
		if n, ok, err := bc.num("seed"); err != nil {
			errs = append(errs, err)
		} else if ok {
			s := int64(n)
			p.seed = &s
		}
	default:
		return nil, fmt.Errorf("backend: unknown image_gen backend %q (expected %s or %s)", c.Backend, BackendOpenAI, BackendVLLMOmni)
	}
	if base != "" {
		ep, err := endpointURL(base)
		if err != nil {
			errs = append(errs, err)
		}
		p.endpoint = ep
	}
	p.timeout = DefaultTimeout
	if c.TimeoutSeconds > 0 {
		p.timeout = time.Duration(c.TimeoutSeconds) * time.Second
	}
	if n, ok, err := bc.num("timeout_seconds"); err != nil {
		errs = append(errs, err)
	} else if ok && n > 0 {
		p.timeout = time.Duration(n * float64(time.Second))
	}
	p.detect = compileDetection(c.ModalityDetection)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// endpointURL is the images/generations URL of base: base_url may end in
// /v1 (as OpenAI SDK base URLs do) or not.
func endpointURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("backend_config.base_url: %q is not an http(s) URL", base)
	}
	path := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(path, "/v1") {
		path += "/v1"
	}
	u.Path = path + "/images/generations"
	return u.String(), nil
}

// fields reads backend_config values.
type fields map[string]any

func (f fields) str(k string) (string, error) {
	v, ok := f[k]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("backend_config.%s: expected a string, got %T", k, v)
	}
	return strings.TrimSpace(s), nil
}

func (f fields) num(k string) (float64, bool, error) {
	v, ok := f[k]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch n := v.(type) {
	case int:
		return float64(n), true, nil
	case int64:
		return float64(n), true, nil
	case float64:
		return n, true, nil
	}
	return 0, false, fmt.Errorf("backend_config.%s: expected a number, got %T", k, v)
}
