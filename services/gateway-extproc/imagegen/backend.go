package imagegen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Image is what a backend generated.
type Image struct {
	// B64 is the base64 image (empty when the backend answered a URL).
	B64 string
	// MIME is the type of B64 (image/png, image/jpeg, image/webp, …).
	MIME string
	// URL is the image URL the backend returned (b64 answers: "").
	URL string
	// RevisedPrompt is the prompt the backend says it used ("": none).
	RevisedPrompt string
	// InputTokens and OutputTokens are the backend's usage when it
	// reports one (gpt-image models), else 0.
	InputTokens, OutputTokens int64
}

// DataURL is the image as a data: URL, or the backend's URL.
func (im *Image) DataURL() string {
	if im.B64 == "" {
		return im.URL
	}
	return "data:" + im.MIME + ";base64," + im.B64
}

// StatusError is a backend answer with a non-2xx status. It wraps
// ErrBackend.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("image backend answered %d: %s", e.Status, e.Message)
}

func (e *StatusError) Unwrap() error { return ErrBackend }

// AppendBody appends the backend request body of r.
func (p *Plugin) AppendBody(b []byte, r Request) []byte {
	b = append(b, `{"prompt":`...)
	b = chatreq.AppendJSONString(b, r.Prompt)
	if p.model != "" {
		b = append(b, `,"model":`...)
		b = chatreq.AppendJSONString(b, p.model)
	}
	b = append(b, `,"n":1,"size":"`...)
	b = strconv.AppendInt(b, int64(r.Width), 10)
	b = append(b, 'x')
	b = strconv.AppendInt(b, int64(r.Height), 10)
	b = append(b, '"')
	str := func(k, v string) {
		if v != "" {
			b = append(b, `,"`...)
			b = append(b, k...)
			b = append(b, `":`...)
			b = chatreq.AppendJSONString(b, v)
		}
	}
	str("response_format", p.responseFormat)
	str("quality", p.quality)
	str("style", p.style)
	str("negative_prompt", p.negativePrompt)
	if p.steps > 0 {
		b = append(b, `,"num_inference_steps":`...)
		b = strconv.AppendInt(b, int64(p.steps), 10)
	}
	if p.cfgScale != nil {
		b = append(b, `,"true_cfg_scale":`...)
		b = strconv.AppendFloat(b, *p.cfgScale, 'g', -1, 64)
	}
	if p.guidanceScale != nil {
		b = append(b, `,"guidance_scale":`...)
		b = strconv.AppendFloat(b, *p.guidanceScale, 'g', -1, 64)
	}
	if p.seed != nil {
		b = append(b, `,"seed":`...)
		b = strconv.AppendInt(b, *p.seed, 10)
	}
	return append(b, '}')
}

// Generate asks the backend for one image, within the plugin's time
// bound. Errors wrap ErrBackend (a *StatusError for a non-2xx answer) or
// are ctx's error when the time bound or the client ended it.
func (p *Plugin) Generate(ctx context.Context, r Request) (*Image, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(p.AppendBody(make([]byte, 0, 256), r)))
	if err != nil {
		return nil, fmt.Errorf("build image request: %w", errors.Join(ErrBackend, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The transport error names the URL, never the key.
		return nil, fmt.Errorf("post image request: %w", errors.Join(ErrBackend, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxImageBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("read image response: %w", errors.Join(ErrBackend, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Status: resp.StatusCode, Message: errorMessage(body)}
	}
	if len(body) > MaxImageBytes {
		return nil, fmt.Errorf("read image response: %w: larger than %d bytes", ErrBackend, MaxImageBytes)
	}
	return ParseResponse(body)
}

// ParseResponse reads an OpenAI Images API answer
// {"data":[{"b64_json"|"url","revised_prompt"}],"usage":{…}}.
func ParseResponse(body []byte) (*Image, error) {
	var out struct {
		Data []struct {
			B64           string `json:"b64_json"`
			URL           string `json:"url"`
			RevisedPrompt string `json:"revised_prompt"`
		} `json:"data"`
		OutputFormat string `json:"output_format"`
		Usage        *struct {
			InputTokens  int64 `json:"input_tokens"`
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode image response: %w", errors.Join(ErrBackend, err))
	}
	if len(out.Data) == 0 || (out.Data[0].B64 == "" && out.Data[0].URL == "") {
		return nil, fmt.Errorf("decode image response: %w: no image in data[0] (want b64_json or url)", ErrBackend)
	}
	d := out.Data[0]
	im := &Image{B64: d.B64, URL: d.URL, RevisedPrompt: d.RevisedPrompt}
	if out.Usage != nil {
		im.InputTokens, im.OutputTokens = out.Usage.InputTokens, out.Usage.OutputTokens
	}
	if im.B64 != "" {
		raw, err := base64.StdEncoding.DecodeString(im.B64)
		if err != nil {
			return nil, fmt.Errorf("decode image response: %w: b64_json is not base64: %w", ErrBackend, err)
		}
		im.MIME = http.DetectContentType(raw)
		if !strings.HasPrefix(im.MIME, "image/") {
			return nil, fmt.Errorf("decode image response: %w: b64_json is %s, not an image", ErrBackend, im.MIME)
		}
	}
	return im, nil
}

// errorMessage extracts a backend's error text: OpenAI's
// {"error":{"message"}}, FastAPI's {"detail": …} (vLLM-Omni), or the body
// itself, shortened.
func errorMessage(body []byte) string {
	var e struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
		Detail  json.RawMessage `json:"detail"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Error != nil && e.Error.Message != "":
			return shorten(e.Error.Message)
		case len(e.Detail) > 0:
			var s string
			if json.Unmarshal(e.Detail, &s) == nil {
				return shorten(s)
			}
			return shorten(string(e.Detail))
		case e.Message != "":
			return shorten(e.Message)
		}
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		return shorten(s)
	}
	return "no error message"
}

func shorten(s string) string {
	const limit = 300
	s = strings.TrimSpace(s)
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
