module github.com/semrouter/semrouter/cmd/semrouter

go 1.26.0

replace github.com/semrouter/semrouter/gen => ../../gen

replace github.com/semrouter/semrouter/pkg => ../../pkg

replace github.com/semrouter/semrouter/services/gateway-extproc => ../../services/gateway-extproc

replace github.com/semrouter/semrouter/services/classifier => ../../services/classifier

replace github.com/semrouter/semrouter/services/embedder-gpu => ../../services/embedder-gpu

replace github.com/semrouter/semrouter/services/cache => ../../services/cache

replace github.com/semrouter/semrouter/services/config-hub => ../../services/config-hub

require (
	github.com/semrouter/semrouter/pkg v0.0.0-00010101000000-000000000000
	github.com/semrouter/semrouter/services/classifier v0.0.0-00010101000000-000000000000
	github.com/semrouter/semrouter/services/config-hub v0.0.0-00010101000000-000000000000
)

require (
	cel.dev/expr v0.25.3 // indirect
	github.com/cncf/xds/go v0.0.0-20260202195803-dba9d589def2 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/envoyproxy/go-control-plane v0.14.0 // indirect
	github.com/envoyproxy/go-control-plane/envoy v1.40.0 // indirect
	github.com/envoyproxy/go-control-plane/ratelimit v0.1.0 // indirect
	github.com/envoyproxy/protoc-gen-validate v1.3.3 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/openai/openai-go/v3 v3.95.0 // indirect
	github.com/planetscale/vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect
	github.com/tidwall/gjson v1.20.0 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.1 // indirect
	github.com/tidwall/sjson v1.2.5 // indirect
	github.com/yalue/onnxruntime_go v1.27.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

require (
	github.com/semrouter/semrouter/services/embedder-gpu v0.0.0-00010101000000-000000000000
	gopkg.in/yaml.v3 v3.0.1
)
