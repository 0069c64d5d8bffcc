package metrics

import "github.com/prometheus/client_golang/prometheus"

// GatewayImageGenerations counts the requests the image_gen plugin
// handled, by decision, backend (openai, vllm_omni) and outcome.
const GatewayImageGenerations = "semrouter_gateway_image_generations_total"

// Outcomes of semrouter_gateway_image_generations_total.
const (
	// ImageGenSuccess: the backend returned an image and the client got it.
	ImageGenSuccess = "success"
	// ImageGenNotImage: the request was not an image request (modality
	// signal AR, or no detection keyword) and went to the chat model.
	ImageGenNotImage = "not_image"
	// ImageGenRejected: the backend refused the prompt (4xx other than
	// auth, not found and rate limit): the client got a 400.
	ImageGenRejected = "rejected"
	// ImageGenFailed: the backend was unreachable, answered 5xx (or an
	// auth / not-found / rate-limit status) or an unusable body.
	ImageGenFailed = "failed"
	// ImageGenTimeout: the backend did not answer within the time bound.
	ImageGenTimeout = "timeout"
)

func newImageGenSeries(r *registrar) *prometheus.CounterVec {
	return counterVec(r, GatewayImageGenerations,
		"Requests handled by the image_gen plugin, by decision, backend (openai, vllm_omni) and outcome (success, not_image, rejected, failed, timeout).",
		"decision_name", "backend", "outcome")
}

// ImageGeneration counts one request the image_gen plugin of decision
// handled with backend, by outcome (ImageGen*).
func (m *Gateway) ImageGeneration(decision, backend, outcome string) {
	if m != nil {
		m.imageGen.WithLabelValues(decision, backend, outcome).Inc()
	}
}
