module github.com/semrouter/semrouter/services/embedder-gpu

go 1.26.0

replace github.com/semrouter/semrouter/gen => ../../gen

replace github.com/semrouter/semrouter/pkg => ../../pkg

require (
	github.com/yalue/onnxruntime_go v1.27.0
	golang.org/x/text v0.43.0
)
